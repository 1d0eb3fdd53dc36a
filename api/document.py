"""What makes the OpenAPI document exact enough for generated clients, declared once.

- ``DocumentPlugin`` (an apispec plugin) adds what follows from an operation's other
  declarations: the ``If-Match`` header parameter wherever a 412 can come back,
  ``If-None-Match`` wherever a 304 can, a 400 (malformed JSON) wherever a body is read;
  and each schema's ``openapi_example``.
- ``shared_enums_and_nullable_refs`` (a marshmallow-converter attribute function) points
  every ``Status``/``Priority``/``Category``/``Level`` field at one enum component, and writes a
  nullable reference as OpenAPI 3.0.3 can say it, "the reference, or the value null":
  ``anyOf: [$ref, {type, nullable: true, enum: [null]}]``. apispec's own
  ``anyOf [{type: object, nullable: true}, $ref]`` admits any object, which clients
  generate as a second anonymous model; ``nullable`` beside a bare ``$ref`` has no
  ``type`` (Redocly's ``nullable-type-sibling``); and ``type`` + ``nullable`` beside
  ``allOf`` loses the null in openapi-python-client.
- ``int64_integers``: every integer is ``format: int64`` with a ``maximum``.
- ``register_components`` declares the error responses with the headers sent with them
  (``WWW-Authenticate`` on 401, ``Retry-After`` and the rate-limit headers on 429).
"""
from __future__ import annotations

from apispec import APISpec, BasePlugin
from marshmallow import fields

from portal.ids import INT64_MAX
from portal.incidents.enums import Category, Level, Priority, Status

#: The enums with one component each, shared by every field and parameter that holds one.
SHARED_ENUMS = {Status: "Status", Priority: "Priority", Category: "Category", Level: "Level"}

IF_MATCH = {
    "name": "If-Match", "in": "header", "required": False,
    "description": "The `ETag` you last read: the change is refused (412) when the "
                   "incident has changed since (a new SLA state alone, stored by the "
                   "clock, is no change of yours). Without it, no check is made.",
    "schema": {"type": "string"}, "example": '"42-3-ok"',
}

IF_NONE_MATCH = {
    "name": "If-None-Match", "in": "header", "required": False,
    "description": "The `ETag` you hold: when it is still current the answer is 304, "
                   "without a body.",
    "schema": {"type": "string"}, "example": '"42-3-ok"',
}

RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed in the current window",
                          "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window",
                              "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "When the window resets (Unix time, seconds)",
                          "schema": {"type": "integer"}},
}

#: Error responses that declare headers too (smorest's own components, by status name,
#: have none); their names are what ``api.access.error_responses`` refers to.
ERROR_RESPONSES = {
    "BadRequest": {"description": "The body is not valid JSON (or nested too deep)"},
    "Unauthorized": {
        "description": "No valid token (or session) was sent",
        "headers": {"WWW-Authenticate": {
            "description": "How to authenticate: `Bearer`",
            "schema": {"type": "string", "example": 'Bearer realm="api"'}}}},
    "TooManyRequests": {
        "description": "Too many attempts: wait `Retry-After` seconds",
        "headers": {"Retry-After": {"description": "Seconds to wait",
                                    "schema": {"type": "integer"}},
                    **RATE_LIMIT_HEADERS}},
}


def _enum_ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def shared_enums_and_nullable_refs(self, field, ret, **kwargs) -> dict:
    """Shared enum components; a nullable reference as "the reference, or null"."""
    keep = {key: ret[key] for key in ("description", "readOnly", "writeOnly", "default")
            if key in ret}
    if isinstance(field, fields.Enum) and field.enum in SHARED_ENUMS:
        reference, type_ = _enum_ref(SHARED_ENUMS[field.enum]), "string"
    elif "anyOf" in ret and {"type": "object", "nullable": True} in ret["anyOf"]:
        reference, type_ = next(item for item in ret["anyOf"] if "$ref" in item), "object"
    else:
        return {}
    # The property is rebuilt rather than merged: a $ref's siblings are ignored by
    # OpenAPI 3.0, so type/enum/anyOf from the earlier functions must not stay.
    ret.clear()
    if field.allow_none:
        return {"anyOf": [reference, {"type": type_, "nullable": True, "enum": [None]}],
                **keep}
    return {"allOf": [reference], **keep} if keep else reference


def int64_integers(self, field, ret, **kwargs) -> dict:
    """Every integer is ``format: int64``, at most ``INT64_MAX`` unless bounded lower."""
    if ret.get("type") != "integer":
        return {}
    return {"format": "int64", "maximum": min(ret.get("maximum", INT64_MAX), INT64_MAX)}


class DocumentPlugin(BasePlugin):
    """Adds the parameters, responses and examples that other declarations imply."""

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        example = getattr(schema, "openapi_example", None)
        return {"example": example} if example else None

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            responses = operation.setdefault("responses", {})
            codes = {str(code) for code in responses}
            if "412" in codes:
                operation.setdefault("parameters", []).append(dict(IF_MATCH))
            if "304" in codes:
                operation.setdefault("parameters", []).append(dict(IF_NONE_MATCH))
            if "requestBody" in operation and "400" not in codes:
                responses["400"] = "BadRequest"


def register_components(spec: APISpec, ma_plugin) -> None:
    """The shared enums, the error responses' headers, and the integer rules."""
    for enum_class, name in SHARED_ENUMS.items():
        spec.components.schema(name, {
            "type": "string", "enum": [member.value for member in enum_class]})
    for name, response in ERROR_RESPONSES.items():
        spec.components.response(name, {
            **response, "content": {"application/json": {"schema": "Error"}}})
    ma_plugin.converter.add_attribute_function(int64_integers)
    ma_plugin.converter.add_attribute_function(shared_enums_and_nullable_refs)
