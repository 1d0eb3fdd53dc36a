"""Reply addresses that prove receipt: ``desk+<incident>.<mac>@domain``.

Every notification about an incident carries, as its ``Reply-To``, the intake address
(``MAIL_INBOX_ADDRESS``) plus-addressed with the incident and a MAC over the incident
and the recipient's address, keyed from ``SECRET_KEY``. Only that recipient was sent the
address, so a reply to it from that same address proves its sender as well as a DMARC
pass does (mail in, ``portal.mailin.sender``); anyone else's mail to it proves nothing.
Changing ``SECRET_KEY`` makes the addresses already sent prove nothing (their replies
are then treated as unverified mail).

The MAC is 80 bits of HMAC-SHA256 in lower-case hex (mail systems may fold case in a
local part), compared in constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Iterable

from flask import current_app

_MAC_CHARS = 20
#: The tag of a reply address: ``<incident>.<mac>``.
_TAG = re.compile(rf"(\d{{1,18}})\.([0-9a-f]{{{_MAC_CHARS}}})")


def _key() -> bytes:
    return hmac.new(current_app.config["SECRET_KEY"].encode(),
                    b"incident-portal reply addresses", hashlib.sha256).digest()


def _mac(incident_id: int, recipient: str) -> str:
    message = f"{incident_id}:{recipient.strip().lower()}".encode()
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()[:_MAC_CHARS]


def _intake() -> tuple[str, str] | None:
    """The intake address's local part and domain, lower case; None when unset."""
    local, at, domain = current_app.config.get("MAIL_INBOX_ADDRESS", "").rpartition("@")
    return (local.lower(), domain.lower()) if at and local and domain else None


def reply_address(incident_id: int | None, recipient: str) -> str | None:
    """Where ``recipient`` replies to a notification about ``incident_id``: the intake
    address itself when no incident is named; None when there is no intake address."""
    intake = _intake()
    if intake is None:
        return None
    if incident_id is None:
        return current_app.config["MAIL_INBOX_ADDRESS"]
    local, domain = intake
    return f"{local}+{incident_id}.{_mac(incident_id, recipient)}@{domain}"


def reply_tag(address: str) -> tuple[int, str] | None:
    """The incident and MAC of ``address`` when it has a reply address's form; None for
    any other address."""
    intake = _intake()
    local, _, domain = address.strip().lower().rpartition("@")
    if intake is None or domain != intake[1] or not local.startswith(intake[0] + "+"):
        return None
    tag = _TAG.fullmatch(local[len(intake[0]) + 1:])
    return (int(tag.group(1)), tag.group(2)) if tag else None


def made_for(incident_id: int, mac: str, senders: Iterable[str]) -> bool:
    """Whether the reply address ``incident_id``/``mac`` was made for one of ``senders``
    (the sender's address, and its base address when sub-addresses merge)."""
    return any(hmac.compare_digest(_mac(incident_id, sender), mac) for sender in senders)
