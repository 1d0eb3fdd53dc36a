"""The one rule for the text people send: no control characters but tab and line breaks.

Text may hold tabs and line feeds, and carriage returns only as half of a CRLF line
break; every other C0 control character (U+0000 to U+001F) and DEL (U+007F) is refused.
No person types them; they come from pasted terminal output, broken clients and
attacks, and PostgreSQL cannot store NUL at all (it answered 500). The rule is declared
here once and asked at every front door: the request guard
(``portal.plain_text_input``: every query string, every API body), every portal form
(the same module), the lifecycle's text fields (``lifecycle._text``), the token schema,
and mail in, which cannot ask the sender again and strips them instead (``strip``).
"""
from __future__ import annotations

import re

from portal.refusals import Refused

#: One control character that is refused: a lone CR (not followed by LF) is one too.
FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
#: The rule as a JSON Schema ``pattern`` (ECMA-262 and Python read it alike), for the
#: OpenAPI document's string inputs.
PATTERN = r"^(?:[^\x00-\x08\x0b-\x1f\x7f]|\r\n)*$"
#: The stable name of the refusal, in the API's problem details (``code``).
CODE = "control_characters"


def problem(value: str) -> str | None:
    """Why ``value`` is refused (the words after the field's name), or None."""
    found = FORBIDDEN.search(value)
    if found is None:
        return None
    return (f"holds a control character (U+{ord(found.group()[0]):04X}) at character "
            f"{found.start() + 1}: text may hold tabs and line breaks, no other control "
            "characters")


class ControlCharacters(Refused, http_status=422):
    """Text holding a control character the rule refuses; ``field`` names it (422)."""

    code = CODE


def check(value: str, *, field: str, location: str = "json") -> None:
    """:raises ControlCharacters: ``value`` breaks the rule (the message names ``field``)."""
    words = problem(value)
    if words is not None:
        raise ControlCharacters(f"{field} {words}", field=field, location=location)


def strip(text: str) -> str:
    """``text`` without the characters the rule refuses (for mail, which cannot be asked
    again: a lone CR becomes a line break)."""
    return FORBIDDEN.sub(lambda found: "\n" if found.group() == "\r" else "", text)
