"""Reading JSON that anyone may send: refusals, not server errors.

Python's ``json.loads`` raises ``RecursionError`` (not ``ValueError``) on arrays nested
about a thousand deep, and accepts ``"\\ud800"`` (a lone surrogate), a string no
database can store. ``safe_loads`` turns both into ``ValueError``, which Flask answers
with 400 (its ``JSONProvider`` is replaced with ``SafeJSONProvider``) and the API's
argument parser with 400 naming the reason (``api.bounds.SafeJSONParser``).
"""
from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider


def safe_loads(data: str | bytes, **kwargs: Any) -> Any:
    """``json.loads`` that raises only ``ValueError`` for anything it refuses."""
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        value = json.loads(data, **kwargs)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the JSON holds a lone surrogate (\\ud800-\\udfff): "
                         "not a character") from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    return value


class SafeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading through ``safe_loads``."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return safe_loads(s, **kwargs)
