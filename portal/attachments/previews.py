"""Previews of raster images, made by the worker, never in a request.

An upload only marks a PNG, JPEG, GIF or WebP ``pending`` (``initial_status``; a file
whose bytes have been judged before takes that verdict and preview at once), and its
transaction wakes the worker (``NOTIFY attachment_previews`` on PostgreSQL; SQLite
workers poll). The worker's ``attachment-previews`` job (``make_previews``) then runs
``thumbnail.py`` in a child process per image, whose memory and CPU time are bounded
(``ATTACHMENT_PREVIEW_MEMORY_MB``, ``ATTACHMENT_PREVIEW_TIMEOUT_SECONDS``) and which never
decodes an image of more than ``ATTACHMENT_PREVIEW_MAX_PIXELS`` (the size is read from
the header first).

Why a child process rather than Pillow's ``MAX_IMAGE_PIXELS`` in the worker itself: the
pixel budget bounds what a well-behaved decoder allocates, but nothing bounds its time,
and a decoder bug (libwebp's CVE-2023-4863 was one) would crash or corrupt the worker that
also sends mail and webhooks. The child has both bounds from the kernel, and whatever
happens in it costs one preview. It costs a Python start (about 50 ms) per image, in the
background. Both guards apply: the child checks the budget and sets Pillow's.
"""
from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from portal.attachments import thumbnail
from portal.attachments.models import Attachment, PreviewStatus
from portal.attachments.storage import blob_store
from portal.extensions import db
from portal.outbox import notify_workers
from portal.worker import Job, register

log = logging.getLogger(__name__)

#: The only types ever shown inline (as their preview), with Pillow's name of each format.
RASTER_IMAGES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF",
                 "image/webp": "WEBP"}
PREVIEW_SIDE = 320
CHANNEL = "attachment_previews"
#: Previews made in one round before the worker looks at its other jobs again.
ROUND = 20
#: Without a wake-up (a NOTIFY lost while the worker was down), look this often.
INTERVAL = 60.0
SCRIPT = Path(thumbnail.__file__)
#: The child's exit statuses, and what each means for the attachment.
VERDICTS = {thumbnail.TOO_LARGE: PreviewStatus.too_large,
            thumbnail.UNREADABLE: PreviewStatus.failed,
            thumbnail.OUT_OF_MEMORY: PreviewStatus.failed}


@dataclass(frozen=True)
class Outcome:
    """What the preview process made of an image: ``png`` when ``status`` is ready."""

    status: PreviewStatus
    png: bytes | None = None
    reason: str = ""


def render(data: bytes, content_type: str) -> Outcome:
    """The preview of ``data`` (a ``content_type`` image), made in a bounded child
    process; any other type is ``none``."""
    if content_type not in RASTER_IMAGES:
        return Outcome(PreviewStatus.none)
    config = current_app.config
    seconds = config["ATTACHMENT_PREVIEW_TIMEOUT_SECONDS"]
    command = [sys.executable, "-I", str(SCRIPT), RASTER_IMAGES[content_type],
               str(config["ATTACHMENT_PREVIEW_MAX_PIXELS"]), str(PREVIEW_SIDE),
               str(config["ATTACHMENT_PREVIEW_MEMORY_MB"] * 2**20), str(seconds)]
    try:
        # env={}: the process reading hostile bytes holds none of the portal's secrets.
        done = subprocess.run(command, input=data, capture_output=True, timeout=seconds,
                              env={}, check=False)
    except subprocess.TimeoutExpired:
        return Outcome(PreviewStatus.failed, reason=f"took longer than {seconds} s")
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    reason = said[-1][:200] if said else ""
    if done.returncode == 0 and done.stdout.startswith(b"\x89PNG"):
        return Outcome(PreviewStatus.ready, png=done.stdout)
    if done.returncode < 0:  # killed: over its CPU time (SIGXCPU) or memory
        reason = f"stopped by signal {-done.returncode} (over its memory or time)"
    return Outcome(VERDICTS.get(done.returncode, PreviewStatus.failed), reason=reason)


def _judged(sha256: str) -> tuple[str, str | None] | None:
    """The verdict and preview an attachment of the same bytes got already, if any."""
    row = db.session.execute(
        select(Attachment.preview_status, Attachment.preview_sha256)
        .where(Attachment.sha256 == sha256, Attachment.preview_status.not_in(
            (PreviewStatus.pending.value, PreviewStatus.none.value)))
        .limit(1)).first()
    return tuple(row) if row else None


def initial_status(sha256: str, content_type: str) -> tuple[str, str | None]:
    """The new attachment's (``preview_status``, ``preview_sha256``): another file of the
    same bytes lends its verdict; a raster image is otherwise ``pending``, and the
    current transaction wakes the worker when it commits."""
    if content_type not in RASTER_IMAGES:
        return PreviewStatus.none.value, None
    judged = _judged(sha256)
    if judged:
        return judged
    notify_workers(db.session, CHANNEL)
    return PreviewStatus.pending.value, None


def _pending():
    return select(Attachment.id, Attachment.sha256, Attachment.content_type).where(
        Attachment.preview_status == PreviewStatus.pending.value)


def _settle(sha256: str, status: str, preview_sha256: str | None) -> None:
    # Every pending attachment of these bytes at once; one deleted meanwhile is simply
    # not there to update.
    db.session.execute(update(Attachment).where(
        Attachment.sha256 == sha256,
        Attachment.preview_status == PreviewStatus.pending.value,
    ).values(preview_status=status, preview_sha256=preview_sha256)
        .execution_options(synchronize_session=False))
    db.session.commit()


def make_previews(limit: int = ROUND) -> float | None:
    """One round of the job: settle up to ``limit`` pending images, oldest first, each
    committed on its own; returns 0 when more wait (run again at once), else None."""
    store = blob_store()
    rows = db.session.execute(_pending().order_by(Attachment.id).limit(limit)).all()
    for attachment_id, sha256, content_type in rows:
        judged = _judged(sha256)
        if judged:
            _settle(sha256, *judged)
            continue
        try:
            with store.open(sha256) as blob:
                data = blob.read()
        except FileNotFoundError:
            log.error("attachment %s: blob %s is missing: no preview", attachment_id, sha256)
            _settle(sha256, PreviewStatus.failed.value, None)
            continue
        db.session.rollback()  # no transaction held open while the child works
        outcome = render(data, content_type)
        if outcome.status is not PreviewStatus.ready:
            log.warning("attachment %s: no preview (%s): %s", attachment_id,
                        outcome.status.value, outcome.reason or "no reason given")
        _settle(sha256, outcome.status.value,
                store.put(outcome.png) if outcome.png else None)
    return 0 if len(rows) == limit else None


def ready() -> bool:
    """Whether an image waits for its preview (the worker's cheap SQLite poll)."""
    return db.session.scalar(_pending().with_only_columns(Attachment.id).limit(1)) is not None


def register_job() -> None:
    """Give ``manage.py worker`` the ``attachment-previews`` job, one worker at a time
    (registering again replaces it)."""
    register(Job(name="attachment-previews", interval=INTERVAL, run=make_previews,
                 channel=CHANNEL, ready=ready, exclusive=True))
