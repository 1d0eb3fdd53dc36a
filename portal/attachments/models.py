"""``Attachment``: one file on an incident (optionally on one of its comments), and
``AttachmentBlob``: the bytes themselves when ``ATTACHMENT_STORAGE=database``.

An attachment row names its bytes by their sha256 (``storage``): the same file attached
twice is one blob. Rows never hold a path; ``filename`` is for display and downloads only.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, and_, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from portal.auth.models import User
from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db
from portal.incidents.models import Comment, Incident

FILENAME_MAX = 255
SHA256_LENGTH = 64


class PreviewStatus(StrEnum):
    """Where an attachment's preview stands (``portal.attachments.previews`` makes them)."""

    pending = "pending"      # a raster image the worker has not looked at yet
    ready = "ready"          # made: ``preview_sha256`` names it
    too_large = "too_large"  # more pixels than ATTACHMENT_PREVIEW_MAX_PIXELS: never decoded
    failed = "failed"        # unreadable, or over the preview process's memory or time
    none = "none"            # not a raster image


class Attachment(db.Model):
    """A file someone attached; ``internal`` ones (also every one on an internal comment)
    are for admins and technicians only."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_incident_created", "incident_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Deleting an incident (or a comment) deletes its attachment rows; the blobs they
    # leave unreferenced are removed by ``gc-attachments``.
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(SHA256_LENGTH), index=True)
    #: The small PNG shown on the incident page (raster images only), made once, by the
    #: worker after the upload (``preview_status`` says how far it got).
    preview_sha256: Mapped[str | None] = mapped_column(String(SHA256_LENGTH), index=True)
    preview_status: Mapped[str] = mapped_column(String(10), default=PreviewStatus.none.value,
                                                index=True)
    internal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    incident: Mapped[Incident] = relationship()
    comment: Mapped[Comment | None] = relationship()
    uploader: Mapped[User] = relationship()

    def __str__(self) -> str:
        return self.filename


class AttachmentBlob(db.Model):
    """The bytes of one file, by sha256 (the ``database`` storage backend)."""

    __tablename__ = "attachment_blobs"

    sha256: Mapped[str] = mapped_column(String(SHA256_LENGTH), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    #: Written or reused last: the garbage collector leaves recent blobs alone.
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


def _count(*conditions):
    return column_property(
        select(func.count(Attachment.id))
        .where(and_(Attachment.incident_id == Incident.id, *conditions))
        .correlate_except(Attachment).scalar_subquery(),
        deferred=True)


# SQLAlchemy's documented way to add a column property to a class mapped earlier. Deferred,
# so only the API's incident queries (which undefer them) pay for the two counts.
Incident.attachments_all_count = _count()
Incident.attachments_public_count = _count(Attachment.internal.is_(False))
