"""Mail a machine wrote, not a person: what its headers declare, and, for the responders
that declare nothing (they ignore RFC 3834), what their subjects say.

The headers: ``Auto-Submitted`` other than ``no`` (RFC 3834), ``Precedence:
auto_reply|bulk|junk|list``, ``X-Autoreply``/``X-Autorespond``, Microsoft's
``X-Auto-Response-Suppress``, and ``List-Id`` (mailing-list mail). The subjects: a small
table of how out-of-office replies begin, in English and the languages a desk meets most
(``Out of office:``, ``Automatic reply:``, ``Auto:``, ``Abwesenheitsnotiz:``, ``Réponse
automatique :``...), each followed by a colon or ending the subject, so a person's
"Out of office VPN is down" still reports a problem. The pipeline ignores what either
finds (``pipeline.automatic_reason``), never answers it, and keeps it under Inbound mail
with the reason.
"""
from __future__ import annotations

import re
import unicodedata

from portal.mailin.reading import Letter, header

_BULK = {"auto_reply", "bulk", "junk", "list"}

#: How out-of-office subjects begin (compared without case).
OUT_OF_OFFICE_SUBJECTS = (
    # English
    "out of office", "out of the office", "out of office autoreply", "automatic reply",
    "auto reply", "auto-reply", "autoreply", "auto response", "auto", "away from the office",
    # German
    "abwesenheitsnotiz", "automatische antwort", "abwesend",
    # French
    "réponse automatique", "absence du bureau", "absent du bureau",
    # Spanish, Portuguese, Italian, Dutch, the Nordic languages
    "respuesta automática", "fuera de la oficina", "resposta automática",
    "risposta automatica", "fuori ufficio", "automatisch antwoord", "afwezig", "autosvar",
    "frånvaro", "automaattinen vastaus",
)
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:%s)\s*(?:[:：]|$)" % "|".join(re.escape(subject) for subject in
                                          sorted(OUT_OF_OFFICE_SUBJECTS, key=len,
                                                 reverse=True)), re.IGNORECASE)


def machine_reason(letter: Letter) -> str | None:
    """Why ``letter`` was written by a machine by its headers or its subject, or None."""
    message = letter.headers
    auto = header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"an automatic message (Auto-Submitted: {auto[:40]})"
    precedence = header(message, "Precedence").lower()
    if precedence in _BULK:
        return f"bulk mail (Precedence: {precedence})"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if message.get(name) is not None:
            return f"an auto-reply ({name})"
    if message.get("List-Id") is not None:
        return f"mailing-list mail (List-Id: {header(message, 'List-Id')[:60]})"
    subject = unicodedata.normalize("NFC", letter.subject)
    if _OUT_OF_OFFICE.match(subject):
        return f"an out-of-office reply (its subject: {subject[:60]})"
    return None
