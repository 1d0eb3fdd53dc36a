"""Who is told what about an incident event, and the messages themselves (Jinja
templates: a plain-text and an HTML part per event, HTML autoescaped)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal import plain_text
from portal.attachments.models import Attachment
from portal.attachments.service import sees_internal, visible_attachments
from portal.auth.models import Role, User
from portal.auth.roles import ADMIN_ROLES
from portal.extensions import db
from portal.incidents.enums import EventKind
from portal.incidents.access import can_see
from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.sla.words import due_time_words

NOTIFIED = frozenset({EventKind.created, EventKind.assigned, EventKind.resolved,
                      EventKind.reopened, EventKind.sla_warning, EventKind.sla_breached})


@dataclass(frozen=True)
class Notice:
    """One message to compose: to whom, from which template, with what subject."""

    recipient: User
    template: str
    subject: str


def active_admins() -> list[User]:
    # Their roles in one more statement for all of them: each message's attachment list
    # asks what its recipient may see, which reads the roles (one query per admin else).
    return list(db.session.scalars(
        select(User).join(User.roles).where(Role.name.in_(ADMIN_ROLES),
                                            User.receives_mail).order_by(User.id)
        .options(selectinload(User.roles))))


def notices_for(event: IncidentEvent) -> list[Notice]:
    """The messages an event calls for, one per recipient who receives mail (active, with
    a confirmed address: ``User.receives_mail``): a new incident to every admin and an
    acknowledgement to its reporter; an assignment to the technician and the reporter; a
    resolution to the reporter; a reopening to the technician (or the admins when none is
    set)."""
    incident: Incident = event.incident
    tag, title = f"[{incident.number}]", _one_line(incident.title)
    reporter, technician = incident.reporter, incident.technician
    wanted: list[Notice] = []
    if event.kind == EventKind.created:
        wanted = [Notice(admin, "created_admin", f"{tag} New incident: {title}")
                  for admin in active_admins() if admin.id != reporter.id]
        wanted.append(Notice(reporter, "created_reporter",
                             f"{tag} We have your report: {title}"))
    elif event.kind == EventKind.assigned and technician is not None:
        wanted = [Notice(technician, "assigned_technician", f"{tag} Assigned to you: {title}")]
        if reporter.id != technician.id:
            wanted.append(Notice(reporter, "assigned_reporter",
                                 f"{tag} Assigned to {technician.username}: {title}"))
    elif event.kind == EventKind.resolved:
        wanted = [Notice(reporter, "resolved_reporter", f"{tag} Resolved: {title}")]
    elif event.kind == EventKind.reopened:
        targets = [technician] if technician is not None else active_admins()
        wanted = [Notice(user, "reopened", f"{tag} Reopened: {title}") for user in targets]
    elif event.kind == EventKind.sla_warning:
        # The technician is warned, or the admins when nobody has it yet.
        targets = [technician] if technician is not None else active_admins()
        wanted = [Notice(user, "sla_warning", f"{tag} SLA warning: {title}") for user in targets]
    elif event.kind == EventKind.sla_breached:
        # A breach escalates: the technician and every admin.
        targets = ([technician] if technician is not None else []) + [
            admin for admin in active_admins() if technician is None or admin.id != technician.id]
        wanted = [Notice(user, "sla_breached", f"{tag} SLA breached: {title}")
                  for user in targets]
    return [notice for notice in wanted if notice.recipient.receives_mail]


def notices_for_comment(comment: Comment) -> list[Notice]:
    """The messages a new comment calls for (a conversation needs both directions): a
    public one by the reporter to the technician (or the admins when none is set), a
    public one by anyone else to the reporter. Internal comments email nobody; nobody is
    told of their own comment; an unverified sender's comment says so in the subject."""
    if comment.internal:
        return []
    incident: Incident = comment.incident
    tag, title = f"[{incident.number}]", _one_line(incident.title)
    author, reporter = comment.author, incident.reporter
    if author.id == reporter.id:
        targets = [incident.technician] if incident.technician is not None \
            else active_admins()
    else:
        targets = [reporter]
    by = author.username + (" (unverified sender)" if comment.unverified_sender else "")
    return [Notice(user, "commented", f"{tag} New comment by {by}: {title}")
            for user in targets if user.receives_mail and user.id != author.id]


def _context(notice: Notice, incident: Incident) -> dict:
    """What every message's templates read: the incident, its link and attachments."""
    base_url = current_app.config["PORTAL_BASE_URL"]
    return {
        "incident": incident, "recipient": notice.recipient,
        "link": f"{base_url}/incidents/{incident.id}",
        # In the recipient's zone (else the server's), named, as their pages show it.
        "due": due_time_words(incident, user=notice.recipient),
        # Links to the portal, never the files themselves; only what the recipient sees.
        "attachments": [(attachment, f"{base_url}/attachments/{attachment.id}")
                        for attachment in _attachments_seen_by(notice.recipient, incident)],
    }


#: ``session.info`` key: while one flush's messages are written (``hooks._write_outbox``),
#: each incident's attachments by id, read once for all of its messages.
ATTACHMENTS = "notifications.attachments"


def _attachments_seen_by(user: User, incident: Incident) -> list[Attachment]:
    """The attachments of ``incident`` that ``user`` may see, oldest first. Within one
    flush's messages the incident's attachments are read once, and each recipient's
    share is taken by ``visible_attachments``' rules in Python: the incident visible to
    them (``can_see``, the same rule), internal ones for staff only."""
    known = db.session.info.get(ATTACHMENTS)
    if known is None:
        return list(db.session.scalars(visible_attachments(user, incident)))
    if incident.id not in known:
        known[incident.id] = list(db.session.scalars(
            select(Attachment).where(Attachment.incident_id == incident.id)
            .options(joinedload(Attachment.uploader))
            .order_by(Attachment.created_at, Attachment.id)))
    if not can_see(user, incident):
        return []
    internal = sees_internal(user)
    return [attachment for attachment in known[incident.id]
            if internal or not attachment.internal]


def _render(notice: Notice, context: dict) -> tuple[str, str]:
    return (render_template(f"email/{notice.template}.txt", **context),
            render_template(f"email/{notice.template}.html", **context))


def render(notice: Notice, event: IncidentEvent) -> tuple[str, str]:
    """The plain-text and HTML bodies of ``notice``."""
    return _render(notice, {**_context(notice, event.incident), "event": event})


def render_comment(notice: Notice, comment: Comment) -> tuple[str, str]:
    """The plain-text and HTML bodies of a comment's ``notice``."""
    return _render(notice, {**_context(notice, comment.incident), "comment": comment})


def _one_line(text: str) -> str:
    """Titles go into a header: no line breaks, no control characters (a title stored
    before they were refused), bounded length."""
    text = re.sub(r"\s+", " ", plain_text.strip(text)).strip()
    return text if len(text) <= 150 else text[:147] + "..."
