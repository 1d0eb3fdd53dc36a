"""What may reach a log line: no secrets, and no line breaks or other control characters
from outside.

- ``redact_path``: the token segment of Flask-Security's token URLs (``/reset/<token>``,
  ``/tf-setup/<token>``, and the other token routes it may add) becomes ``[redacted]``.
- ``redact_query``: every query-string value becomes ``[redacted]`` (names stay, for
  debugging): API tokens are refused there, but a client may still send one.
- ``escape``: control characters (``\\n``, ``\\r``, ESC, DEL, C1, U+2028/9) become ``\\xNN`` /
  ``\\uNNNN`` escapes, so a request for ``/x%0A2026-12-02 ... level=WARNING`` cannot write a
  second, forged line.

The app's log formatter escapes every field of every record; gunicorn's access log uses
the same functions (``portal/deploy/access_log.py``).
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote

#: Flask-Security's URLs whose last segment is a secret (checked against the app's URL
#: map by the test suite, so a new token route cannot be missed).
TOKEN_PREFIXES = ("/reset/", "/confirm/", "/login/", "/tf-setup/", "/us-setup/",
                  "/us-verify-link/", "/wan-register/", "/wan-signin/", "/wan-verify/",
                  "/change-email/", "/change-username/")
REDACTED = "[redacted]"
_TOKEN_PATH = re.compile("^(" + "|".join(re.escape(p) for p in TOKEN_PREFIXES) + r")[^/]+")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape_char(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(value: object) -> str:
    """``value`` as text with every control character written as an escape."""
    return _CONTROL.sub(_escape_char, str(value))


def redact_path(path: str) -> str:
    return _TOKEN_PATH.sub(lambda m: m.group(1) + REDACTED, path)


def redact_query(query: str) -> str:
    if not query:
        return ""
    return "&".join(f"{quote(name, safe='')}={REDACTED}"
                    for name, _value in parse_qsl(query, keep_blank_values=True))


def redact_target(target: str) -> str:
    """A request target (path and query) fit for a log."""
    path, sep, query = target.partition("?")
    return redact_path(path) + (sep + redact_query(query) if sep else "")
