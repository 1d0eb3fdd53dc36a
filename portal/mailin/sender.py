"""Who wrote a message, and what proves it: the pipeline asks ``prove`` before a message
may act as anyone.

Anyone can write any ``From``. A message is **proven** to come from its ``From`` address
by one of three layers, tried in this order:

1. **The receiving mail server** (``MAIL_INBOX_TRUSTED_AUTHSERV_ID``): its topmost
   ``Authentication-Results`` says ``dmarc=pass`` for the From domain, or ``dkim=pass``
   for an aligned signing domain (``authentication_results``). When that header is there
   it decides; a failure there is not retried here.
2. **DKIM verified here** (``MAIL_INBOX_VERIFY_DKIM``), when no trusted header applies:
   a signature that verifies (dkimpy, the key from DNS), signs ``From``, covers the whole
   body (no ``l=``) and is by a domain aligned with the From domain.
3. **Its reply address** (``portal.notifications.reply_addresses``): the message was sent
   to the address only the From address was given, in a notification about one
   incident; it proves the sender for that incident (``replied_incident``) even when the
   layers above do not.

Anything else is **unverified**, with the reasons (``doubts``): the pipeline never lets
it act as a user's identity. A ``From`` that is not one plain mailbox is refused before
any of this (``addresses.MalformedFrom``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Callable

import dkim
from flask import current_app

from portal.mailin import authentication_results
from portal.mailin.addresses import author, domain_of, identities
from portal.mailin.reading import Letter
from portal.notifications.reply_addresses import made_for, reply_tag

log = logging.getLogger(__name__)

#: ``app.extensions`` key: the TXT lookup DKIM verification uses, dkimpy's ``dnsfunc``
#: (``lookup(name: bytes, timeout=5) -> bytes | None``); dkimpy's own DNS resolver when
#: unset. The tests publish their signing key through it.
DKIM_LOOKUP = "mailin.dkim_lookup"
#: Signatures tried per message (each may cost a DNS lookup).
MAX_SIGNATURES = 5
DNS_TIMEOUT_SECONDS = 5
#: Where a reply address may be found: what the client wrote and what the server saw.
RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to")


@dataclass(frozen=True)
class Sender:
    """The author of a message and what proves them."""

    #: The ``From`` address, lower case.
    address: str
    #: The account addresses it may stand for, the whole address first (``identities``).
    identities: tuple[str, ...]
    #: How the sender was proven, in words; None: unverified.
    proof: str | None = None
    #: Why it is not proven, in words ("" when proven).
    doubts: str = ""
    #: The incident whose reply address the message was sent to, made for this sender.
    replied_incident: int | None = None

    @property
    def proven(self) -> bool:
        return self.proof is not None


def prove(letter: Letter, raw: bytes) -> Sender:
    """The sender of ``letter`` (``raw``: its bytes, for DKIM) and what proves them.

    :raises MalformedFrom: the From is not one plain mailbox.
    """
    address = author(letter.headers)
    config = current_app.config
    candidates = identities(address,
                            merge_subaddresses=config["MAIL_INBOX_MERGE_SUBADDRESSES"])
    replied, reply_doubt = _reply_address(letter, candidates)
    doubts: list[str] = []
    proof = None
    trusted = config["MAIL_INBOX_TRUSTED_AUTHSERV_ID"]
    results = authentication_results.topmost(letter.headers, trusted) if trusted else None
    if results is not None:
        ok, words = authentication_results.verdict(results, domain_of(address))
        if ok:
            proof = f"{trusted} says {words}"
        else:
            doubts.append(f"{trusted} says {words}")
    else:
        doubts.append(f"no Authentication-Results of {trusted}" if trusted
                      else "no trusted mail server (MAIL_INBOX_TRUSTED_AUTHSERV_ID)")
        if config["MAIL_INBOX_VERIFY_DKIM"]:
            ok, words = _dkim_here(raw, domain_of(address))
            if ok:
                proof = words
            else:
                doubts.append(words)
    if proof is None and replied is not None:
        proof = f"a reply to its reply address for INC-{replied}"
    elif reply_doubt:
        doubts.append(reply_doubt)
    return Sender(address=address, identities=candidates, proof=proof,
                  doubts="" if proof else "; ".join(doubts), replied_incident=replied)


def _reply_address(letter: Letter, candidates: tuple[str, ...]) -> tuple[int | None, str]:
    """The incident of a reply address the message went to that was made for this
    sender, and otherwise why a reply address it went to proves nothing."""
    values = [str(value) for name, value in letter.headers.raw_items()
              if name.lower() in RECIPIENT_HEADERS]
    doubt = ""
    for _name, recipient in getaddresses(values):
        tag = reply_tag(recipient)
        if tag is None:
            continue
        if made_for(*tag, candidates):
            return tag[0], ""
        doubt = f"the reply address of INC-{tag[0]} it was sent to is not its own"
    return None, doubt


def _dkim_here(raw: bytes, from_domain: str) -> tuple[bool, str]:
    """Whether a DKIM signature of ``raw`` proves an address at ``from_domain``, and in
    words which one did, or why none did."""
    lookup: Callable = current_app.extensions.get(DKIM_LOOKUP) or dkim.dnsplug.get_txt
    try:
        checker = dkim.DKIM(raw, logger=log, timeout=DNS_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - a message dkimpy cannot read is simply unsigned
        return False, "the message cannot be read for DKIM"
    count = sum(1 for name, _value in checker.headers if name.lower() == b"dkim-signature")
    if not count:
        return False, "no DKIM signature"
    said = []
    for index in range(min(count, MAX_SIGNATURES)):
        checker.domain = None
        try:
            valid = checker.verify(idx=index, dnsfunc=lookup)
        except Exception as exc:  # noqa: BLE001 - dkimpy raises on malformed signatures
            said.append(f"a DKIM signature is unusable ({type(exc).__name__})")
            continue
        signer = (checker.domain or b"").decode("ascii", "replace").lower()[:100]
        if not valid:
            said.append(f"the DKIM signature of {signer} does not verify")
        elif b"from" not in checker.include_headers:
            said.append(f"the DKIM signature of {signer} does not sign From")
        elif b"l" in checker.signature_fields:
            said.append(f"the DKIM signature of {signer} covers only part of the body (l=)")
        elif not authentication_results.aligned(signer, from_domain):
            said.append(f"the DKIM signature is by {signer}, not {from_domain}")
        else:
            return True, f"a DKIM signature of {signer} verified here"
    return False, "; ".join(said)
