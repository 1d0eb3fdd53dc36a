"""Attaching, finding and removing files, under the incident's own rules.

Permissions are asked of the existing rules, never re-derived: whoever sees the incident
(``visible_incidents``) sees its attachments, internal ones (and every one on an internal
comment) staff only; whoever may comment on it (the lifecycle's ``comment`` action:
closed incidents take none) may attach; the uploader may delete theirs while the
incident is not closed, an admin any. An attachment the caller may not see raises
``NotVisible``, exactly like an absent one.

The public contract (the mail-in pipeline calls it too, so keep it stable)::

    add_attachment(incident, actor, filename: str, data: bytes, *, comment=None,
                   internal: bool = False) -> Attachment

applies the permission checks above, the filename rules (no paths, no control
characters, no Windows streams or device names, at most 255 characters: refused; the
trailing dots and spaces Windows drops are dropped first, so the deny-list sees the name
a download is saved as), the limits (``ATTACHMENT_MAX_BYTES`` per file,
``ATTACHMENT_MAX_PER_INCIDENT``, counted under the incident's row lock, see
``portal.db_locks``), the deny-list (extensions and detected types) and the
content-type detection; stores the blob (an image's preview is made later, by the
worker: ``previews``); adds the
``Attachment`` row and its ``attachment_added`` event to the current session; flushes
and never commits. It raises ``AttachmentRefused`` (``str()`` names the file and the
reason; ``.status`` is 413 for a file over the limit, 422 otherwise) for a bad name,
an empty, too large or denied file or one too many, and the lifecycle's ``NotVisible``,
``NotAllowed`` or ``InvalidTransition`` (a closed incident) when the actor may not attach.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import Select, func, select, union
from sqlalchemy.orm import joinedload

from portal.attachments.content import (BadFilename, check_filename, detect_type,
                                        extension_of, shown_filename)
from portal.attachments.models import Attachment
from portal.attachments.previews import initial_status
from portal.attachments.storage import blob_store, grace_cutoff
from portal.auth.models import User
from portal.db_locks import lock_row
from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.access import Capacity, capacities, visible_incidents
from portal.incidents.enums import NOT_CLOSED, Action, EventKind
from portal.incidents.lifecycle import InvalidValue, LifecycleError, NotAllowed, NotVisible
from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.worker import Job, register

log = logging.getLogger(__name__)

class AttachmentRefused(LifecycleError, http_status=422):
    """A file that may not be attached: empty, too large, denied, or one too many.

    ``status`` (and ``http_status``) is 413 for a file over the size limit, else 422.
    """

    def __init__(self, filename: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{filename}: {reason}", field="file", http_status=status)
        self.filename = filename

    @property
    def status(self) -> int:
        return self.http_status


def human_size(size: int) -> str:
    """``532 bytes``, ``14.2 KiB``, ``10 MiB``."""
    if size < 1024:
        return f"{size} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}".replace(".0 ", " ")
    raise AssertionError("unreachable")


# --- who sees what ---------------------------------------------------------------------

def sees_internal(user: User) -> bool:
    """Whether ``user`` sees internal attachments: the rule of internal comments."""
    return bool(user.is_authenticated and user.is_staff)


def visible_attachments(user: User, incident: Incident | None = None) -> Select:
    """The attachments ``user`` may see (of ``incident``), oldest first."""
    query = select(Attachment).where(Attachment.incident_id.in_(
        visible_incidents(user).with_only_columns(Incident.id).scalar_subquery()))
    if not sees_internal(user):
        query = query.where(Attachment.internal.is_(False))
    if incident is not None:
        query = query.where(Attachment.incident_id == incident.id)
    return query.options(joinedload(Attachment.uploader)).order_by(Attachment.created_at,
                                                                   Attachment.id)


def attachment_for(user: User, attachment_id: int) -> Attachment:
    """The attachment, when ``user`` may see it.

    :raises NotVisible: absent, or not for this user (the same answer).
    """
    found = db.session.scalar(visible_attachments(user).where(Attachment.id == attachment_id))
    if found is None:
        raise NotVisible(f"attachment {attachment_id} not found")
    return found


def attachment_count(user: User, incident: Incident, *, internal: bool | None = None) -> int:
    """How many attachments of ``incident`` ``user`` sees (the incident JSON's count);
    ``internal``: ``sees_internal(user)``, when the caller knows it already."""
    if internal is None:
        internal = sees_internal(user)
    return incident.attachments_all_count if internal else incident.attachments_public_count


def may_delete(user: User, attachment: Attachment) -> bool:
    """The uploader while the incident is not closed, or an admin (who see it)."""
    held = capacities(user, attachment.incident)
    if attachment.internal and Capacity.staff not in held:
        return False
    return Capacity.admin in held or (
        bool(held) and attachment.uploader_id == user.id
        and attachment.incident.status in NOT_CLOSED)


# --- changes ---------------------------------------------------------------------------

def _refuse_file(name: str, data: bytes, incident: Incident) -> str:
    """Check ``data`` against the limits and the deny-list; return its detected type."""
    config = current_app.config
    if not data:
        raise AttachmentRefused(name, "the file is empty")
    limit = config["ATTACHMENT_MAX_BYTES"]
    if len(data) > limit:
        raise AttachmentRefused(name, f"the file is {human_size(len(data))}; the limit is "
                                      f"{human_size(limit)} per file", status=413)
    most = config["ATTACHMENT_MAX_PER_INCIDENT"]
    # Counted under the incident's lock, held until the new row commits: parallel uploads
    # cannot all count the same number and all add one.
    lock_row(Incident, incident.id)
    present = db.session.scalar(select(func.count(Attachment.id)).where(
        Attachment.incident_id == incident.id))
    if present >= most:
        raise AttachmentRefused(name, f"{incident.number} has {present} attachments "
                                      f"already, the most it may have")
    extension = extension_of(name)
    if extension in config["ATTACHMENT_DENIED_EXTENSIONS"]:
        raise AttachmentRefused(name, f".{extension} files may not be attached "
                                      "(executables and scripts)")
    content_type = detect_type(data)
    if content_type in config["ATTACHMENT_DENIED_TYPES"]:
        raise AttachmentRefused(name, f"its content is {content_type}, which may not be "
                                      "attached (executables and scripts)")
    return content_type


def add_attachment(incident: Incident, actor: User, filename: str, data: bytes, *,
                   comment: Comment | None = None, internal: bool = False) -> Attachment:
    """Attach ``data`` as ``filename`` to ``incident`` (and ``comment``); flush, no commit.

    :raises NotVisible, NotAllowed, InvalidTransition: the actor may not comment here.
    :raises InvalidValue: ``internal`` is not a bool, or ``comment`` is not this
        incident's (or not readable by the actor).
    :raises AttachmentRefused: empty, too large (413), denied, or one too many.
    """
    held = lifecycle.authorize(incident, actor, Action.comment)
    if not isinstance(internal, bool):
        raise InvalidValue("internal must be true or false", field="internal")
    if internal and Capacity.staff not in held:
        raise NotAllowed("only admins and technicians may attach internal files")
    if comment is not None:
        if comment.incident_id != incident.id or (comment.internal
                                                  and Capacity.staff not in held):
            raise InvalidValue(f"comment_id: {incident.number} has no comment {comment.id}",
                               field="comment_id")
        internal = internal or comment.internal
    try:
        name = check_filename(filename)
    except BadFilename as bad:
        raise AttachmentRefused(shown_filename(filename), str(bad)) from None
    content_type = _refuse_file(name, data, incident)
    sha256 = blob_store().put(data)
    # The image is not decoded here: the worker makes its preview (``previews``).
    preview_status, preview_sha256 = initial_status(sha256, content_type)
    attachment = Attachment(
        incident=incident, comment=comment, uploader=actor, filename=name,
        content_type=content_type, size=len(data), sha256=sha256, internal=internal,
        preview_status=preview_status, preview_sha256=preview_sha256, created_at=utcnow())
    db.session.add(attachment)
    db.session.add(_event(incident, actor, EventKind.attachment_added, attachment))
    db.session.flush()
    return attachment


def delete_attachment(attachment: Attachment, *, actor: User) -> None:
    """Remove an attachment row (its blob stays until the GC finds it unreferenced).

    :raises NotVisible: the actor may not see it.
    :raises NotAllowed: neither its uploader (on an incident not closed) nor an admin.
    """
    if not capacities(actor, attachment.incident) or (
            attachment.internal and not sees_internal(actor)):
        raise NotVisible(f"attachment {attachment.id} not found")
    if not may_delete(actor, attachment):
        raise NotAllowed(f"only its uploader (while {attachment.incident.number} is not "
                         "closed) or an admin may delete this attachment")
    db.session.add(_event(attachment.incident, actor, EventKind.attachment_deleted,
                          attachment))
    db.session.delete(attachment)
    db.session.flush()


def _event(incident: Incident, actor: User, kind: EventKind,
           attachment: Attachment) -> IncidentEvent:
    # An entry of the history, not a change of the incident: its version stays, so an
    # upload never makes someone else's If-Match stale. Everyone who sees the incident
    # reads its history, so an internal file's name stays out of it.
    note = "an internal file" if attachment.internal else attachment.filename
    return IncidentEvent(incident=incident, actor=actor, kind=kind,
                         from_status=incident.status, to_status=incident.status,
                         changes={}, note=note, created_at=utcnow())


def collect_garbage(grace: timedelta | None = None) -> int:
    """Remove the blobs no attachment references (and leftovers of crashed writes) that
    are older than ``grace`` (``ATTACHMENT_GC_GRACE_SECONDS``); commit; return how many.
    While a backup is copying blobs, remove nothing (the next run collects)."""
    store = blob_store()
    with store.removals_allowed() as allowed:
        if not allowed:
            log.info("attachments: a backup is copying the blobs; nothing collected now")
            return 0
        cutoff = grace_cutoff(grace)
        candidates = [sha256 for sha256, touched in store.stored() if touched <= cutoff]
        referenced = set(db.session.scalars(union(
            select(Attachment.sha256),
            select(Attachment.preview_sha256).where(Attachment.preview_sha256.is_not(None)))))
        removed = sum(store.remove(sha256, older_than=cutoff)
                      for sha256 in candidates if sha256 not in referenced)
        removed += store.remove_leftovers(older_than=cutoff)
        db.session.commit()
    return removed


def register_job() -> None:
    """Have ``manage.py worker`` collect garbage every ``ATTACHMENT_GC_INTERVAL_SECONDS``
    (0, the default: never; run ``gc-attachments`` from cron instead), one worker at a
    time (registering again replaces the job)."""

    def collect() -> None:
        collect_garbage()

    register(Job(name="attachments-gc",
                 interval=lambda app: app.config["ATTACHMENT_GC_INTERVAL_SECONDS"],
                 run=collect, exclusive=True,
                 enabled=lambda app: app.config["ATTACHMENT_GC_INTERVAL_SECONDS"] > 0))
