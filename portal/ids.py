"""Ids from outside (URLs, forms, filters): decimal ASCII digits within a 64-bit integer.

``str.isdigit`` accepts ``"²"`` and ``int()`` accepts ``"٣"`` and ``" 7 "``; databases
refuse integers beyond 64 bits (``9223372036854775808``). One reading for every place
an id is taken.
"""
from __future__ import annotations

import re

from werkzeug.routing import IntegerConverter

INT64_MAX = 2 ** 63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value: object) -> int | None:
    """``value`` as a positive 64-bit id, or None when it is not one."""
    text = str(value)
    if not _DIGITS.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= INT64_MAX else None


class Int64Converter(IntegerConverter):
    """Flask's ``int`` URL converter, bounded to positive 64-bit ids: ``/incidents/
    9223372036854775808`` matches no route (404) instead of overflowing the database."""

    def __init__(self, map, fixed_digits=0, min=1, max=INT64_MAX, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
