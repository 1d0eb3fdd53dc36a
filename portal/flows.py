"""The combined operations every front door shares: a change made of several lifecycle and
attachment steps, written once (as Netflix Dispatch keeps ``flows.py`` beside its
``service.py``). It stands beside the packages it combines, not in ``portal.incidents``:
``portal.attachments`` reads the incidents, so a flow inside them would close a loop.

The portal's views, the API and the mail pipeline parse their input, call one of these
and answer. A flow runs its steps through ``portal.incidents.lifecycle`` and
``portal.attachments.service``, which check every rule; like them it flushes and never
commits, so the caller's one commit (or rollback) takes the whole change or none of it.

Files come as ``(filename, bytes)`` pairs, and are attached in one of two ways:

- **all or nothing** (the portal's forms): the first file refused refuses the whole
  change with its ``AttachmentRefused``, and the caller rolls everything back;
- **what fits** (mail, which cannot ask again): a refused file is left out and named
  in a line ``Not attached: <file>: <reason>`` of the comment the flow writes.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from portal.attachments.service import AttachmentRefused, add_attachment
from portal.auth.models import User
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from portal.incidents.lifecycle import InvalidValue, NotAllowed
from portal.incidents.models import TEXT_MAX, Comment, Incident

Files = Iterable[tuple[str, bytes]]

#: The text of a message with none (mail's description or comment must not be blank).
NO_TEXT = "(the message had no text)"
#: Ends a text cut to fit: the whole message stays in the inbound mail kept.
SHORTENED = "\n\n(shortened: the rest is in the message kept under Audit → Inbound mail)"
#: The reopen event's note when the reporter's mail reopens (the reply is the comment).
REOPENED_BY_MAIL = "Reopened by the reporter's reply by mail"
#: Why the files of an unverified reply are left out: in the incident's file list nothing
#: would tell that nobody proved who sent them.
UNVERIFIED_FILES = "the sender is not verified, so its files are not taken"
#: Why "reopen with a reason" refuses a blank one.
NO_REASON = "Say what is still wrong, so the technician knows where to look."


# --- the portal and the API: every file or none ------------------------------------------

def report_incident(*, actor: User, files: Files = (), reporter_id: int | None = None,
                    **fields: Any) -> Incident:
    """Open an incident (``lifecycle.create``'s ``fields``) and attach every file.

    :raises NotAllowed: ``reporter_id`` names someone else and the actor is no admin
        (asked before the id is looked up, so the answer never tells which ids exist).
    :raises InvalidValue: no user has ``reporter_id``, or the lifecycle refuses a value.
    :raises AttachmentRefused: a file is refused (nothing of the report stays).
    """
    incident = lifecycle.create(actor=actor, reporter=_named_reporter(actor, reporter_id),
                                **fields)
    _attach_all(incident, actor, files)
    return incident


def _named_reporter(actor: User, reporter_id: int | None) -> User | None:
    if reporter_id is None:
        return None
    if not lifecycle.may_report_for(actor, reporter_id):
        raise NotAllowed("reporter_id: your role may not name a user here", field="reporter_id")
    reporter = db.session.get(User, reporter_id)
    if reporter is None:
        raise InvalidValue(f"reporter_id: there is no user {reporter_id}", field="reporter_id")
    return reporter


def comment_with_files(incident: Incident, *, actor: User, body: Any, internal: Any = False,
                       files: Files = ()) -> Comment:
    """Add a comment (or an internal note) with every file attached to it.

    :raises AttachmentRefused: a file is refused (the comment is not kept either).
    """
    comment = lifecycle.comment(incident, actor=actor, body=body, internal=internal)
    _attach_all(incident, actor, files, comment=comment, internal=comment.internal)
    return comment


def reopen_with_reason(incident: Incident, *, actor: User, reason: Any) -> Incident:
    """Reopen a resolved incident saying what is still wrong: the reason is the reopen
    event's note, which the timeline shows under "reopened it" and the "reopened" mail
    carries to the technician; it is written once, never again as a comment.

    :raises InvalidValue: the reason is missing or blank.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidValue(NO_REASON, field="note")
    return lifecycle.reopen(incident, actor=actor, note=reason)


def _attach_all(incident: Incident, actor: User, files: Files, *,
                comment: Comment | None = None, internal: bool = False) -> None:
    for filename, data in files:
        add_attachment(incident, actor, filename, data, comment=comment, internal=internal)


# --- mail: what fits, and a line for each file left out ----------------------------------

def mail_text(text: str) -> str:
    """A text that came by mail made fit to store: never blank, cut to ``TEXT_MAX``."""
    text = text.strip() or NO_TEXT
    if len(text) > TEXT_MAX:
        text = text[:TEXT_MAX - len(SHORTENED)] + SHORTENED
    return text


def open_with_files(*, actor: User, title: str, description: str, files: Files = (),
                    reporter: User | None = None) -> Incident:
    """Open an incident and attach the files that fit; the files refused are told in a
    comment by ``actor`` (the description stays the sender's own words).

    :raises LifecycleError: the lifecycle refuses the incident (nothing is written).
    """
    incident = lifecycle.create(actor=actor, reporter=reporter, title=title,
                                description=mail_text(description))
    refused = attach_what_fits(incident, actor=actor, files=files)
    if refused:
        lifecycle.comment(incident, actor=actor, body="\n".join(refused))
    return incident


def comment_with_what_fits(incident: Incident, *, actor: User, body: str,
                           files: Files = ()) -> Comment:
    """Attach the files that fit, then a public comment: ``body`` and a line for each
    file refused."""
    refused = attach_what_fits(incident, actor=actor, files=files)
    return lifecycle.comment(incident, actor=actor,
                             body=mail_text("\n\n".join([body, *refused])))


def answer_by_mail(incident: Incident, *, actor: User, body: str, files: Files = (),
                   reopens: bool = True) -> bool:
    """A reply by mail: a comment with the files that fit; when its reporter answers a
    resolved incident (and ``reopens``: ``MAIL_REPLY_REOPENS``), the incident reopens
    too. Return whether it reopened.

    :raises LifecycleError: the actor may not comment (or reopen); nothing is written.
    """
    comment_with_what_fits(incident, actor=actor, body=body, files=files)
    if not (reopens and incident.status is Status.resolved
            and incident.reporter_id == actor.id):
        return False
    lifecycle.reopen(incident, actor=actor, note=REOPENED_BY_MAIL)
    return True


def answer_unverified(incident: Incident, *, actor: User, body: str,
                      files: Files = ()) -> Comment:
    """A reply by mail that nothing proves ``actor`` wrote (README "Mail in"): a public
    comment flagged ``unverified_sender``, without its files (a line names each one), and
    never more — no reopening, whatever the incident's status."""
    refused = [f"Not attached: {filename}: {UNVERIFIED_FILES}" for filename, _data in files]
    return lifecycle.comment(incident, actor=actor, unverified_sender=True,
                             body=mail_text("\n\n".join([body, *refused])))


def attach_what_fits(incident: Incident, *, actor: User, files: Files) -> list[str]:
    """Attach each file the attachment limits allow; return a ``Not attached: ...`` line
    for each one refused (too large, denied, one too many)."""
    refused = []
    for filename, data in files:
        try:
            add_attachment(incident, actor, filename, data)
        except AttachmentRefused as refusal:
            refused.append(f"Not attached: {refusal}")
    return refused


__all__ = ["Files", "report_incident", "comment_with_files", "reopen_with_reason",
           "mail_text", "open_with_files", "comment_with_what_fits", "answer_by_mail",
           "answer_unverified", "attach_what_fits"]
