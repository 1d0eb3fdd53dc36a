"""Page headers of the API's lists: ``X-Pagination``, a JSON object (``{"total": 25,
"page": 1, ...}``), and the RFC 8288 ``Link`` header (``first``, ``prev``, ``next``,
``last``, built from ``PORTAL_BASE_URL`` like every link the app sends), sent and
documented here; and the API's ``Blueprint``, which refuses unknown query parameters.

smorest's ``@paginate`` reads ``page`` and ``page_size``; its own header is switched off
(``PAGINATION_HEADER_NAME = None``, its documented switch) because it documents the
header as a plain ``object`` schema, which OpenAPI reads as comma-separated ``key,value``
pairs: generated clients and schemathesis then misread what is sent. Declaring the header
with ``content: application/json`` says what clients really receive.
"""
from __future__ import annotations

import functools
import json
from urllib.parse import urlencode

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import abort
from sqlalchemy import func

from api.access import retried_when_raced
from api.bounds import SafeJSONParser
from portal.extensions import db

HEADER = "X-Pagination"

#: The header's documentation, for ``@blp.response(..., headers=PAGINATION_HEADERS)``.
PAGINATION_HEADERS = {HEADER: {
    "description": "Pagination metadata (JSON)",
    "content": {"application/json": {"schema": {
        "type": "object",
        "properties": {name: {"type": "integer"} for name in (
            "total", "total_pages", "first_page", "last_page", "page", "previous_page",
            "next_page")},
        "required": ["total", "total_pages"]}}},
}, "Link": {
    "description": "RFC 8288 links to the `first`, `prev`, `next` and `last` pages",
    "schema": {"type": "string"},
    "example": '<https://portal.example.com/api/v1/incidents?page=2>; rel="next"',
}}

#: smorest's pagination parameters, which every paginated list also accepts.
PAGE_PARAMETERS = frozenset({"page", "page_size"})


class Blueprint(SmorestBlueprint):
    """smorest's ``Blueprint`` without its own pagination header (see the module), reading
    JSON bodies with ``SafeJSONParser`` (too deep, lone surrogates: 400), refusing a
    request without the body its operation declares required (422): webargs reads a
    missing body as ``{}``, so ``PATCH`` with nothing would otherwise answer 200; and
    making a write that lost a race again (``add_url_rule``)."""

    PAGINATION_HEADER_NAME = None
    ARGUMENTS_PARSER = SafeJSONParser()

    def add_url_rule(self, rule, endpoint=None, view_func=None,
                     provide_automatic_options=None, **kwargs):
        """Every resource's views are made again when their write lost a race
        (``retried_when_raced``), innermost: inside authentication and idempotency."""
        if isinstance(view_func, type) and issubclass(view_func, MethodView):
            view_func.decorators = [retried_when_raced, *view_func.decorators]
        return super().add_url_rule(rule, endpoint, view_func, provide_automatic_options,
                                    **kwargs)

    def arguments(self, schema, *, location="json", required=True, **kwargs):
        decorate = super().arguments(schema, location=location, required=required,
                                     **kwargs)
        if location == "query":
            return _known_parameters_only(schema, decorate)
        if location != "json" or not required:
            return decorate

        def with_body(view):
            parsed = decorate(view)

            @functools.wraps(parsed)  # keeps smorest's documentation of the view
            def checked(*args, **view_kwargs):
                if not (request.is_json and request.get_data(cache=True)):
                    message = "a JSON body is required (Content-Type: application/json)"
                    abort(422, message=message, errors={"json": {"_schema": [message]}})
                return parsed(*args, **view_kwargs)
            return checked
        return with_body


def _known_parameters_only(schema, decorate):
    """Refuse a query parameter the schema does not declare (422 naming it): ignored, a
    typo (``stauts=open``) would return everything."""
    known = frozenset(field.data_key or name for name, field in schema().fields.items())
    known |= PAGE_PARAMETERS

    def wrap(view):
        parsed = decorate(view)

        @functools.wraps(parsed)
        def checked(*args, **kwargs):
            unknown = sorted(set(request.args) - known)
            if unknown:
                abort(422, message=f"unknown query parameter: {', '.join(unknown)}",
                      errors={"query": {name: ["unknown parameter"] for name in unknown}})
            return parsed(*args, **kwargs)
        return checked
    return wrap


def link_header(page_numbers: dict[str, int]) -> str:
    """RFC 8288 ``Link``: this list's address with each page, from ``PORTAL_BASE_URL``."""
    base = f"{current_app.config['PORTAL_BASE_URL']}{request.path}"
    links = []
    for relation, number in page_numbers.items():
        query = [(name, value) for name, value in request.args.items(multi=True)
                 if name != "page"] + [("page", str(number))]
        links.append(f'<{base}?{urlencode(query)}>; rel="{relation}"')
    return ", ".join(links)


def pagination_headers(pagination_parameters) -> dict[str, str]:
    """The ``X-Pagination`` and ``Link`` headers of one page: totals, neighbouring pages."""
    page, size, total = (pagination_parameters.page, pagination_parameters.page_size,
                         pagination_parameters.item_count)
    meta = {"total": total, "total_pages": (total - 1) // size + 1 if total else 0}
    if total:
        meta.update(first_page=1, last_page=meta["total_pages"])
        if page <= meta["last_page"]:
            meta["page"] = page
            if page > 1:
                meta["previous_page"] = page - 1
            if page < meta["last_page"]:
                meta["next_page"] = page + 1
    headers = {HEADER: json.dumps(meta)}
    relations = {"first": meta.get("first_page"), "prev": meta.get("previous_page"),
                 "next": meta.get("next_page"), "last": meta.get("last_page")}
    if any(relations.values()):
        headers["Link"] = link_header({rel: n for rel, n in relations.items() if n})
    return headers


def one_page(rows, pagination_parameters, *order) -> tuple[list, dict[str, str]]:
    """The page of ``rows`` (a ``select``) the request asks for, in ``order``, with its
    headers; the whole of ``rows`` is counted first (``count(*)`` over its FROM and WHERE)."""
    pagination_parameters.item_count = db.session.scalar(
        rows.with_only_columns(func.count(), maintain_column_froms=True).order_by(None))
    page = db.session.scalars(rows.order_by(*order)
                              .offset(pagination_parameters.first_item)
                              .limit(pagination_parameters.page_size)).all()
    return page, pagination_headers(pagination_parameters)
