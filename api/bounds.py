"""Every number and body a client sends to the API, bounded and documented as such.

- Path ids use the app's bounded ``int`` converter (``portal.ids.Int64Converter``),
  documented as ``format: int64`` with ``minimum``/``maximum``.
- ``page`` is at most ``PAGE_MAX`` (smorest's pagination schema sets no upper bound, so
  it is checked before the view runs); every integer parameter is documented as
  ``int64`` with its bounds (``BoundsPlugin``, an apispec plugin).
- JSON bodies are read with ``portal.json_safety.safe_loads`` (``SafeJSONParser``): too
  deep or holding lone surrogates is a 400 that says why.
"""
from __future__ import annotations

from apispec import BasePlugin
from flask import Flask, request
from flask_smorest import Api, abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from portal.ids import INT64_MAX, Int64Converter
from portal.json_safety import safe_loads

#: The last page a list may ask for (100 items a page: ten million items).
PAGE_MAX = 100_000


class SafeJSONParser(FlaskParser):
    """webargs' Flask parser, reading JSON bodies through ``safe_loads``."""

    def load_json(self, req, schema):
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        try:
            return safe_loads(data)
        except ValueError as error:
            abort(400, message=f"invalid JSON body: {error}")


class BoundsPlugin(BasePlugin):
    """Documents integer parameters as ``int64`` with bounds, ``page`` up to ``PAGE_MAX``."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema") if isinstance(parameter, dict) else None
                if not schema or schema.get("type") != "integer":
                    continue
                schema["format"] = "int64"
                if parameter.get("name") == "page" and parameter.get("in") == "query":
                    schema["maximum"] = PAGE_MAX
                schema.setdefault("maximum", INT64_MAX)


def int64_schema(converter) -> dict:
    return {"type": "integer", "format": "int64", "minimum": converter.min,
            "maximum": converter.max}


def check_page() -> None:
    """Refuse a ``page`` beyond ``PAGE_MAX`` on API lists (422, naming the field)."""
    value = request.args.get("page")
    if request.path.startswith("/api/") and value is not None and value.isascii() \
            and value.isdigit() and int(value) > PAGE_MAX:
        message = f"must be at most {PAGE_MAX}"
        abort(422, message=f"page: {message}", errors={"query": {"page": [message]}})


def init_bounds(app: Flask, api: Api) -> None:
    api.register_converter(Int64Converter, int64_schema)
    app.before_request(check_page)
