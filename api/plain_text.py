"""The OpenAPI document states the rule the request guard enforces on every string a
client sends (``portal.plain_text``: no control characters but tab and line breaks;
``portal.plain_text_input`` answers 422 with ``code: control_characters``): each string
input carries the rule as its ``pattern``, so generated clients and fuzzers know it.
Enums and formatted strings (dates, e-mail addresses, files) are left as they are: what
they admit holds no control character anyway.
"""
from __future__ import annotations

from portal.incidents.representation import ServerSent
from portal.plain_text import PATTERN


def plain_text_strings(self, field, ret, **kwargs) -> dict:
    """A marshmallow-converter attribute function: the rule's ``pattern`` on inputs
    (output schemas, ``ServerSent``, say nothing of it)."""
    output = field.dump_only or isinstance(field.parent, ServerSent)
    if output or ret.get("type") != "string" or \
            any(key in ret for key in ("enum", "format", "pattern")):
        return {}
    return {"pattern": PATTERN}
