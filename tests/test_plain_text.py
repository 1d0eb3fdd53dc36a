"""The rule for text people send (``portal.plain_text``), as a table: which characters
it refuses, which it keeps, and what mail in (which strips instead) is left with."""
from __future__ import annotations

import re

import pytest

from portal.plain_text import PATTERN, ControlCharacters, check, problem, strip

pytestmark = pytest.mark.no_db

#: text, refused?, what strip leaves
CASES = [
    ("Printer jammed", False, "Printer jammed"),
    ("Line one\nline two", False, "Line one\nline two"),
    ("Tab\tseparated", False, "Tab\tseparated"),
    ("Windows\r\nline breaks", False, "Windows\r\nline breaks"),
    ("Ünïcödé – “quotes” 😀 \u00a0\u200b", False, "Ünïcödé – “quotes” 😀 \u00a0\u200b"),
    ("NUL\x00", True, "NUL"),
    ("escape\x1b[31m", True, "escape[31m"),
    ("bell\x07", True, "bell"),
    ("form feed\x0c", True, "form feed"),
    ("vertical tab\x0b", True, "vertical tab"),
    ("unit separator\x1f", True, "unit separator"),
    ("DEL\x7f", True, "DEL"),
    ("old Mac\rline break", True, "old Mac\nline break"),
    ("CR at the end\r", True, "CR at the end\n"),
]


@pytest.mark.parametrize("text,refused,stripped", CASES)
def test_the_rule(text, refused, stripped):
    assert (problem(text) is not None) is refused
    assert (re.fullmatch(PATTERN, text) is None) is refused  # the document's pattern agrees
    assert strip(text) == stripped and problem(strip(text)) is None


def test_a_refusal_names_the_field_the_character_and_where_it_is():
    with pytest.raises(ControlCharacters) as refused:
        check("Pay\x00roll", field="title", location="query")
    error = refused.value
    assert (error.field, error.location, error.code, error.http_status) == \
        ("title", "query", "control_characters", 422)
    assert error.message == ("title holds a control character (U+0000) at character 4: "
                             "text may hold tabs and line breaks, no other control characters")
