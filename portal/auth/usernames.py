"""Usernames that cannot impersonate each other: ASCII letters and digits only.

A username is what people read to know who assigned or commented: ``аda`` with a Cyrillic
``а`` looks exactly like ``ada``. Unicode's confusables skeleton would catch that, but it
needs a data table that must be kept in step with Unicode (the ``confusable_homoglyphs``
package pins one from 2017) and still leaves mixed-script look-alikes to judgement. A
service desk's usernames are handles, not names (the email carries the person), so
Flask-Security's check is narrowed to ``a-z A-Z 0-9`` after its NFKC normalisation: no
two usernames can then look alike beyond case, and uniqueness ignores case.
"""
from __future__ import annotations

from flask_security import UsernameUtil

ASCII_ONLY = "usernames may use only the letters a-z and the digits 0-9"


class AsciiUsernameUtil(UsernameUtil):
    """``Security(username_util_cls=AsciiUsernameUtil)``."""

    def validate(self, username: str):
        message, clean = super().validate(username)
        if message is None and clean is not None and not (clean.isascii() and clean.isalnum()):
            return ASCII_ONLY, None
        return message, clean
