"""The ``From`` address as an identity: read strictly, and compared as accounts are.

A message has one ``From`` header holding one mailbox, or its sender is unknown: two
``From`` headers, a group (``grp: a@b;``), an obsolete route (``<@relay:a@b>``), a list of
addresses, a domain literal, no address, or anything the parser notes a structural defect
in (8-bit text as such is read as it came) is refused (``MalformedFrom``), never read
"best effort": each of those can make one program read one author and another program
another.

Addresses compare case-insensitively, local part included: account addresses are unique
ignoring case (``portal.auth.accounts``), so at most one account matches either way. With
``MAIL_INBOX_MERGE_SUBADDRESSES`` a ``name+tag@domain`` also stands for ``name@domain``.

Pure: a message in, strings out.
"""
from __future__ import annotations

from email import errors
from email.message import EmailMessage

#: Defects that only say the header holds 8-bit text (UTF-8 names as mail clients send
#: them, RFC 6532): read as it came. Every other defect is about the structure.
_EIGHT_BIT = (errors.UndecodableBytesDefect, errors.NonASCIILocalPartDefect)
#: The sub-address separator (RFC 5233's common choice; Postfix's default ``+``).
SUBADDRESS = "+"


class MalformedFrom(ValueError):
    """The message's ``From`` is not one plain mailbox (the message says why)."""


def author(message: EmailMessage) -> str:
    """The one ``From`` address, lower case.

    :raises MalformedFrom: no From, two of them, or one that is not one plain mailbox.
    """
    found = [value for name, value in message.raw_items() if name.lower() == "from"]
    if not found:
        raise MalformedFrom("the message has no From address")
    if len(found) > 1:
        raise MalformedFrom(f"the message has {len(found)} From headers")
    try:
        value = message["From"]
        defects, groups = value.defects, value.groups
    except Exception:  # noqa: BLE001 - the header parser gives up on some hostile input
        raise MalformedFrom("the From header cannot be read") from None
    structural = [defect for defect in defects if not isinstance(defect, _EIGHT_BIT)]
    if structural:
        raise MalformedFrom(f"the From header is malformed ({_words(structural[0])})")
    if any(group.display_name is not None for group in groups):
        raise MalformedFrom("the From header is a group, not a mailbox")
    if not groups or not groups[0].addresses:
        raise MalformedFrom("the message has no From address")
    if len(groups) > 1 or len(groups[0].addresses) > 1:
        raise MalformedFrom("the From header names more than one address")
    mailbox = groups[0].addresses[0]
    if not mailbox.username or not mailbox.domain:
        raise MalformedFrom("the message has no From address")
    if mailbox.domain.startswith("["):
        raise MalformedFrom("the From address is at a domain literal, not a domain")
    return mailbox.addr_spec.lower()


def _words(defect) -> str:
    return (str(defect) or type(defect).__name__)[:80]


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def identities(address: str, *, merge_subaddresses: bool) -> tuple[str, ...]:
    """The addresses ``address`` may stand for, the whole one first: with
    ``merge_subaddresses``, ``name+tag@domain`` is also ``name@domain``."""
    address = address.lower()
    local, _, domain = address.rpartition("@")
    base = local.partition(SUBADDRESS)[0]
    if merge_subaddresses and base and base != local:
        return (address, f"{base}@{domain}")
    return (address,)
