"""Page headers of the API's lists: ``X-Pagination``, a JSON object (``{"total": 25,
"page": 1, ...}``), sent and documented here.

smorest's ``@paginate`` reads ``page`` and ``page_size``; its own header is switched off
(``PAGINATION_HEADER_NAME = None``, its documented switch) because it documents the
header as a plain ``object`` schema, which OpenAPI reads as comma-separated ``key,value``
pairs: generated clients and schemathesis then misread what is sent. Declaring the header
with ``content: application/json`` says what clients really receive.
"""
from __future__ import annotations

import functools
import json

from flask import request
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import abort

from api.bounds import SafeJSONParser

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
}}


class Blueprint(SmorestBlueprint):
    """smorest's ``Blueprint`` without its own pagination header (see the module), reading
    JSON bodies with ``SafeJSONParser`` (too deep, lone surrogates: 400), and refusing a
    request without the body its operation declares required (422): webargs reads a
    missing body as ``{}``, so ``PATCH`` with nothing would otherwise answer 200."""

    PAGINATION_HEADER_NAME = None
    ARGUMENTS_PARSER = SafeJSONParser()

    def arguments(self, schema, *, location="json", required=True, **kwargs):
        decorate = super().arguments(schema, location=location, required=required,
                                     **kwargs)
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


def pagination_headers(pagination_parameters) -> dict[str, str]:
    """The ``X-Pagination`` header of one page: totals, and the neighbouring pages."""
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
    return {HEADER: json.dumps(meta)}
