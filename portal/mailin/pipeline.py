"""The one pipeline both channels call: ``ingest(raw)`` stores a message and does what it
asks, as its sender, through the flows the portal and the API share
(``portal.flows``); it returns an ``Outcome``.

In order: a message seen before (its ``Message-ID``) changes nothing; an oversized or
unreadable one is quarantined; auto-replies, bulk mail, bounces and our own mail are
ignored (and never answered); a ``From`` that is not one plain mailbox is quarantined;
then ``sender.prove`` says whether anything proves the sender, and the sender must be an
active user, or write from an allowed domain (a reporter account is made for them), or
the message is quarantined. A message that answers an incident (its reply address, else
``threads``) becomes a public comment by the sender — who must see that incident
(``visible_incidents``), else it is quarantined — and the reporter's answer to a resolved
incident reopens it; an answer to a closed incident, or a message that answers nothing,
opens a new incident. Its files and inline images become attachments of the incident
(within the attachment limits: a file refused is dropped and the comment says so).
Whatever the lifecycle refuses is quarantined with its words, and nothing of it is
written.

**Unverified mail is never an identity**: it does not comment as anyone, reopen or close;
it is quarantined with the reason — except that with ``MAIL_INBOX_UNVERIFIED=
reporter-comment`` a reporter's reply becomes a public comment flagged "unverified
sender", without its files (``flows.answer_unverified``). It may still report a new
incident for a reporter, or for an unknown sender of an allowed domain (the intake the
desk promises), but never for a staff address.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.auth.accounts import AccountError, create_account
from portal.auth.confirmation import owner_of
from portal.auth.models import User
from portal.auth.roles import DEFAULT_ROLE
from portal.extensions import db
from portal import flows
from portal.incidents import lifecycle
from portal.incidents.access import visible_incidents
from portal.incidents.enums import Status
from portal.incidents.models import TITLE_MAX, Incident
from portal.mailin.addresses import MalformedFrom, domain_of
from portal.mailin.auto_replies import machine_reason
from portal.mailin.models import InboundAction, InboundMail, InboundStatus
from portal.mailin.rates import too_many_incidents, too_many_replies
from portal.mailin.reading import Letter, header, message_id_of, parse, read, sender_of
from portal.mailin.sender import Sender, prove
from portal.mailin.threads import answered_incident, is_our_message
from portal.refusals import Refused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What ``ingest`` did with one message."""

    status: str
    reason: str | None = None
    action: str | None = None
    incident_id: int | None = None
    inbound_id: int | None = None
    #: The message had been ingested before: nothing changed this time.
    duplicate: bool = False

    def describe(self) -> str:
        """One line for the command line and the log."""
        what = self.status
        if self.action:
            what += f": {self.action} INC-{self.incident_id}"
        if self.reason:
            what += f" ({self.reason})"
        return ("already ingested, nothing changed: " if self.duplicate else "") + what


class Held(Exception):
    """Quarantine the message, for this reason."""


class Skipped(Exception):
    """Ignore the message (a machine wrote it), for this reason."""


def _outcome(row: InboundMail, *, duplicate: bool = False) -> Outcome:
    return Outcome(status=row.status, reason=row.reason, action=row.action,
                   incident_id=row.incident_id, inbound_id=row.id, duplicate=duplicate)


def ingest(raw: bytes) -> Outcome:
    """Store ``raw`` and do what it asks; commits.

    :raises sqlalchemy.exc.OperationalError: the database is unreachable (nothing was
        stored: the channel keeps the message and offers it again).
    """
    message = parse(raw)
    message_id = message_id_of(message, raw)
    existing = db.session.scalar(select(InboundMail).where(
        InboundMail.message_id == message_id))
    if existing is not None:
        return _outcome(existing, duplicate=True)
    config = current_app.config
    row = InboundMail(message_id=message_id, sender=sender_of(message)[:255],
                      subject=header(message, "Subject")[:255], raw=raw, size=len(raw),
                      status=InboundStatus.processed.value)
    proof = None
    try:
        db.session.add(row)
        db.session.flush()  # claims the Message-ID: a concurrent copy fails here
        if len(raw) > config["MAIL_INBOX_MAX_BYTES"]:
            raise Held(f"the message is {len(raw) // 1024} KiB, over MAIL_INBOX_MAX_BYTES "
                       f"({config['MAIL_INBOX_MAX_BYTES'] // 1024} KiB): only its headers "
                       "are kept")
        letter = read(raw)
        _check_not_automatic(letter)
        sender = _sender(letter, raw)
        proof = row.sender_proof = sender.proof and sender.proof[:255]
        action, incident = _act(letter, sender)
        row.action, row.incident_id = action.value, incident.id
        if (too_many := too_many_replies(row)) is not None:
            raise Held(too_many)  # rolls the reply back: quarantined instead
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalar(select(InboundMail).where(
            InboundMail.message_id == message_id))
        if existing is None:
            raise
        return _outcome(existing, duplicate=True)
    except (Held, Skipped, lifecycle.LifecycleError) as refusal:
        db.session.rollback()
        status = InboundStatus.ignored if isinstance(refusal, Skipped) else \
            InboundStatus.quarantined
        reason = refusal.message if isinstance(refusal, lifecycle.LifecycleError) \
            else str(refusal)
        kept = raw if len(raw) <= config["MAIL_INBOX_MAX_BYTES"] else _headers_only(raw)
        row = InboundMail(message_id=message_id, sender=sender_of(message)[:255],
                          subject=header(message, "Subject")[:255], raw=kept,
                          size=len(raw), status=status.value, reason=reason,
                          sender_proof=proof)
        db.session.add(row)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            existing = db.session.scalar(select(InboundMail).where(
                InboundMail.message_id == message_id))
            return _outcome(existing, duplicate=True)
    outcome = _outcome(row)
    log.info("inbound mail %s from %s: %s", row.id, row.sender or "nobody",
             outcome.describe())
    return outcome


def _headers_only(raw: bytes) -> bytes:
    return re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0][:64 * 1024]


# --- loops and storms -------------------------------------------------------------------

def automatic_reason(letter: Letter) -> str | None:
    """Why ``letter`` was written by a machine (and must not be answered), or None."""
    message, config = letter.headers, current_app.config
    declared = machine_reason(letter)  # auto-reply and list headers, out-of-office subjects
    if declared is not None:
        return declared
    local = letter.sender.partition("@")[0]
    if (message.get_content_type() == "multipart/report"
            or any(part.get_content_type() == "message/delivery-status"
                   for part in message.walk())
            or local in ("mailer-daemon", "postmaster")
            or header(message, "Return-Path") == "<>"):
        return "a delivery status notification (bounce)"
    if message.get("X-Incident-Portal-Message") is not None or is_our_message(
            letter.message_id):
        return "one of our own notifications came back"
    ours = {sender_of_address(config["MAIL_DEFAULT_SENDER"]), config["MAIL_INBOX_ADDRESS"]}
    if letter.sender and letter.sender in ours:
        return f"sent from our own address {letter.sender}"
    return None


def sender_of_address(value: str) -> str:
    """``Name <a@b>`` or ``a@b`` as ``a@b``, lower case."""
    found = re.search(r"[^\s<>]+@[^\s<>]+", value or "")
    return found.group(0).lower() if found else ""


def _check_not_automatic(letter: Letter) -> None:
    reason = automatic_reason(letter)
    if reason:
        raise Skipped(reason)


def _check_storm(sender: str) -> None:
    too_many = too_many_incidents(sender)
    if too_many is not None:
        raise Held(too_many)


# --- who is speaking --------------------------------------------------------------------

def user_by_address(address: str) -> User | None:
    """The account that owns ``address``: an unconfirmed registration of it does not, so
    its sender counts as unknown (``portal.auth.confirmation``)."""
    return owner_of(address)


def _sender(letter: Letter, raw: bytes) -> Sender:
    """:raises Held: the From is not one plain mailbox."""
    try:
        return prove(letter, raw)
    except MalformedFrom as exc:
        raise Held(str(exc)) from None


def _speaker(sender: Sender) -> User | None:
    """The active user whose address ``sender`` is (an account with the whole address
    first, then, when sub-addresses merge, the base one); None when they may have an
    account made.

    :raises Held: an inactive account, or an unknown sender from elsewhere.
    """
    for address in sender.identities:
        user = user_by_address(address)
        if user is not None:
            if not user.active:
                raise Held(f"{address} belongs to an inactive account")
            return user
    domain = domain_of(sender.address)
    if domain in current_app.config["MAIL_INBOX_ALLOWED_DOMAINS"]:
        return None
    raise Held(f"{sender.address} is not a user, and {domain} is not one of "
               "MAIL_INBOX_ALLOWED_DOMAINS")


def _unverified(sender: Sender, user: User) -> str:
    return (f"the sender {sender.address} is not verified ({sender.doubts}): unverified "
            f"mail never acts as {user.username}")


def _reporter(sender: Sender, user: User | None) -> User:
    """Who reports the incident a message opens: the user, or a new reporter account.

    :raises Held: the sender is unverified and the address is a staff member's.
    """
    if user is None:
        return new_reporter(sender.identities[-1])
    if user.is_staff and not sender.proven:
        raise Held(_unverified(sender, user) + ", a staff member")
    return user


def new_reporter(address: str) -> User:
    """A reporter account for ``address``, without a password (they set one through
    "forgot password"); the username comes from the address.

    :raises Held: the address is not one an account can have.
    """
    base = re.sub(r"[^a-z0-9]", "", address.partition("@")[0].lower())[:28] or "reporter"
    base = base if len(base) >= 3 else f"{base}mail"
    for n in range(1, 30):
        username = base if n == 1 else f"{base}{n}"
        try:
            return create_account(email=address, username=username, password=None,
                                  roles=[DEFAULT_ROLE.value])
        except AccountError as exc:
            if exc.field != "username":
                raise Held(f"no account can be made for {address}: {exc.message}") from None
    raise Held(f"no free username for {address}")


# --- what a message does ----------------------------------------------------------------

def _files(letter: Letter) -> list[tuple[str, bytes]]:
    return [(part.filename, part.data) for part in letter.parts]


def _act(letter: Letter, sender: Sender) -> tuple[InboundAction, Incident]:
    incident_id = sender.replied_incident or answered_incident(letter.references) \
        or letter.tagged_incident
    user = _speaker(sender)
    if incident_id is None:
        return InboundAction.created, _opened_with_files(letter, _reporter(sender, user))
    if user is None:
        raise Held(f"{sender.address} has no account, so may not write to INC-{incident_id}")
    incident = db.session.scalar(visible_incidents(user).where(Incident.id == incident_id))
    if incident is None:
        # The same words whether it exists or not: a guessed tag learns nothing.
        raise Held(f"{sender.address} may not see INC-{incident_id} (or it does not "
                   "exist): nothing was attached")
    if incident.status is Status.closed:
        return InboundAction.created, _opened_with_files(letter, _reporter(sender, user),
                                                         follows=incident)
    if not sender.proven:
        if user.is_staff or current_app.config["MAIL_INBOX_UNVERIFIED"] != "reporter-comment":
            raise Held(_unverified(sender, user))
        flows.answer_unverified(incident, actor=user, body=letter.reply_text,
                                files=_files(letter))
        return InboundAction.commented, incident
    reopened = flows.answer_by_mail(incident, actor=user, body=letter.reply_text,
                                    files=_files(letter),
                                    reopens=current_app.config["MAIL_REPLY_REOPENS"])
    return (InboundAction.reopened if reopened else InboundAction.commented), incident


def _opened_with_files(letter: Letter, user: User, *,
                       follows: Incident | None = None) -> Incident:
    """A new incident with the message's files (``flows.open_with_files``); an answer to
    a closed incident says so above the reply."""
    _check_storm(letter.sender)
    description = letter.text
    if follows is not None:
        description = (f"Follow-up to {follows.number} ({follows.title}), which is closed."
                       f"\n\n{letter.reply_text}")
    return flows.open_with_files(actor=user, title=letter.title[:TITLE_MAX],
                                 description=description, files=_files(letter))


# --- the admin's decisions on quarantined mail ------------------------------------------

class DecisionRefused(Refused, http_status=409):
    """An admin's decision on a quarantined message cannot be carried out (why): the
    message is not in a state that allows it (409)."""


def _quarantined(row: InboundMail) -> Letter:
    if row.status != InboundStatus.quarantined.value:
        raise DecisionRefused(f"message {row.id} is {row.status}, not quarantined")
    if row.size > len(row.raw):
        raise DecisionRefused(f"message {row.id} was too large: only its headers are kept")
    return read(row.raw)


def accept_as_new(row: InboundMail, *, admin: User) -> Incident:
    """Open an incident from a quarantined message, reported by its sender (an account is
    made for an unknown one); the caller commits.

    :raises DecisionRefused: not quarantined, no sender, or an inactive sender.
    :raises lifecycle.LifecycleError: the lifecycle refuses.
    """
    letter = _quarantined(row)
    if not letter.sender:
        raise DecisionRefused("the message has no From address: attach it to an incident")
    sender = user_by_address(letter.sender)
    if sender is not None and not sender.active:
        raise DecisionRefused(f"{letter.sender}'s account is inactive: activate it first, "
                              "or attach the message to an incident")
    try:
        sender = sender or new_reporter(letter.sender)
    except Held as exc:
        raise DecisionRefused(str(exc)) from None
    incident = flows.open_with_files(actor=admin, reporter=sender,
                                     title=letter.title[:TITLE_MAX], description=letter.text,
                                     files=_files(letter))
    _decided(row, admin, InboundAction.created, incident)
    return incident


def attach_to(row: InboundMail, incident: Incident, *, admin: User) -> None:
    """Add a quarantined message (and its files) to ``incident`` as the admin's public
    comment quoting its sender (the sender gains no rights by it); the caller commits."""
    letter = _quarantined(row)
    flows.comment_with_what_fits(
        incident, actor=admin, files=_files(letter),
        body=f"By mail from {letter.sender or 'an unknown sender'}:\n\n{letter.reply_text}")
    _decided(row, admin, InboundAction.commented, incident)


def discard(row: InboundMail, *, admin: User) -> None:
    """Set a quarantined message aside for good; the caller commits."""
    if row.status != InboundStatus.quarantined.value:
        raise DecisionRefused(f"message {row.id} is {row.status}, not quarantined")
    row.status = InboundStatus.ignored.value
    row.reason = f"discarded by {admin.username} (was: {row.reason})"


def _decided(row: InboundMail, admin: User, action: InboundAction, incident: Incident) -> None:
    row.status = InboundStatus.processed.value
    row.action, row.incident_id = action.value, incident.id
    row.reason = f"{action.value} by {admin.username} (was quarantined: {row.reason})"
