"""Where the bytes of attachments live: content-addressed blobs behind one small
interface, ``BlobStore``, with two backends chosen by ``ATTACHMENT_STORAGE``.

- ``filesystem`` (default): ``ATTACHMENTS_DIR/ab/cd/abcd…`` (the sha256). A blob is
  written to a temporary file in the same folder, flushed and renamed into place, so a
  reader never sees half a file and a crash leaves only a temporary file.
- ``database``: rows of ``attachment_blobs``, in the same transaction as the attachment
  row, so several web containers share files through PostgreSQL and ``pg_dump`` backs
  them up.

Blobs are written before the attachment row commits: a failed commit leaves at most an
unreferenced blob, which ``collect_garbage`` (``manage.py gc-attachments``) removes once
it is older than ``ATTACHMENT_GC_GRACE_SECONDS``. Reusing a blob refreshes its age, so an
upload in flight never loses its blob to the collector.

A backup holds removals off (``removals_held``) from its database snapshot until it has
copied the blobs that snapshot names, and the collector removes nothing meanwhile
(``removals_allowed``): a file whose attachment is deleted during a backup is still there
to copy.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO, Iterator

from flask import current_app
from sqlalchemy import delete, select, update

from portal.attachments.models import AttachmentBlob
from portal.db_types import utcnow
from portal.extensions import db


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Content-addressed bytes: ``put`` returns the sha256 that names them."""

    def put(self, data: bytes) -> str:
        """Store ``data`` (once: an existing blob is only touched); return its sha256."""
        raise NotImplementedError

    def open(self, sha256: str) -> BinaryIO:
        """The bytes of a stored blob, to read.

        :raises FileNotFoundError: no such blob.
        """
        raise NotImplementedError

    def path(self, sha256: str) -> Path | None:
        """The blob's file when it has one (served without reading it into memory)."""
        return None

    def stored(self) -> Iterator[tuple[str, datetime]]:
        """Every stored blob with the time it was written or reused last."""
        raise NotImplementedError

    def remove(self, sha256: str, *, older_than: datetime) -> bool:
        """Remove a blob unless it was written or reused after ``older_than``."""
        raise NotImplementedError

    def remove_leftovers(self, *, older_than: datetime) -> int:
        """Remove what crashed writes left behind (before ``older_than``); how many."""
        return 0

    @contextlib.contextmanager
    def removals_held(self) -> Iterator[None]:
        """Keep the collector from removing blobs until the block ends (a backup copying
        them); waits for a collection in progress. Blobs in the database need nothing:
        a backup reads them from its snapshot."""
        yield

    @contextlib.contextmanager
    def removals_allowed(self) -> Iterator[bool]:
        """Whether the collector may remove blobs now (false while a backup holds them
        off: it collects at its next run); removals stay allowed until the block ends."""
        yield True


class FilesystemStore(BlobStore):
    """Blobs as files under ``root``, two folder levels from the hash."""

    TEMP_PREFIX = ".incoming-"
    #: Beside the two folder levels, so never taken for a blob or a leftover.
    LOCK_NAME = ".removals.lock"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise FileNotFoundError(sha256)  # never a path from anything but a hash
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def path(self, sha256: str) -> Path | None:
        return self._path(sha256)

    def put(self, data: bytes) -> str:
        sha256 = sha256_of(data)
        target = self._path(sha256)
        if target.exists():
            os.utime(target)  # reused: younger than any collection in progress
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=self.TEMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return sha256

    def open(self, sha256: str) -> BinaryIO:
        return self._path(sha256).open("rb")

    def stored(self) -> Iterator[tuple[str, datetime]]:
        if not self.root.is_dir():
            return
        for path in self.root.glob("*/*/*"):
            if path.is_file() and not path.name.startswith(self.TEMP_PREFIX):
                yield path.name, datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)

    def remove(self, sha256: str, *, older_than: datetime) -> bool:
        return _unlink_if_older(self._path(sha256), older_than)

    def remove_leftovers(self, *, older_than: datetime) -> int:
        if not self.root.is_dir():
            return 0
        return sum(_unlink_if_older(path, older_than)
                   for path in self.root.glob(f"*/*/{self.TEMP_PREFIX}*"))

    @contextlib.contextmanager
    def _locked(self, operation: int) -> Iterator[bool]:
        """Hold ``flock(operation)`` on the lock file; yields False when a non-blocking
        request finds it taken. No folder yet: no blob to guard."""
        if not self.root.is_dir():
            yield True
            return
        # Read-only is enough to lock, and lets a backup run as a user who may only read.
        descriptor = os.open(self.root / self.LOCK_NAME, os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(descriptor, operation)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(descriptor)  # releases the lock

    @contextlib.contextmanager
    def removals_held(self) -> Iterator[None]:
        with self._locked(fcntl.LOCK_SH):  # backups share; each waits for a collection
            yield

    @contextlib.contextmanager
    def removals_allowed(self) -> Iterator[bool]:
        with self._locked(fcntl.LOCK_EX | fcntl.LOCK_NB) as allowed:
            yield allowed


def _unlink_if_older(path: Path, older_than: datetime) -> bool:
    try:
        if datetime.fromtimestamp(path.stat().st_mtime, timezone.utc) > older_than:
            return False
        path.unlink()
    except FileNotFoundError:
        return False
    return True


class DatabaseStore(BlobStore):
    """Blobs as rows of ``attachment_blobs``, written in the caller's transaction."""

    def put(self, data: bytes) -> str:
        sha256 = sha256_of(data)
        touched = db.session.execute(update(AttachmentBlob).where(
            AttachmentBlob.sha256 == sha256).values(touched_at=utcnow()))
        if not touched.rowcount:
            db.session.add(AttachmentBlob(sha256=sha256, data=data, size=len(data),
                                          touched_at=utcnow()))
        return sha256

    def open(self, sha256: str) -> BinaryIO:
        data = db.session.scalar(select(AttachmentBlob.data).where(
            AttachmentBlob.sha256 == sha256))
        if data is None:
            raise FileNotFoundError(sha256)
        return io.BytesIO(data)

    def stored(self) -> Iterator[tuple[str, datetime]]:
        yield from db.session.execute(select(AttachmentBlob.sha256, AttachmentBlob.touched_at))

    def remove(self, sha256: str, *, older_than: datetime) -> bool:
        # The age is checked by the DELETE itself: a concurrent reuse that refreshed
        # touched_at wins (PostgreSQL re-checks the condition on the updated row).
        result = db.session.execute(delete(AttachmentBlob).where(
            AttachmentBlob.sha256 == sha256, AttachmentBlob.touched_at <= older_than))
        return bool(result.rowcount)


def blob_store() -> BlobStore:
    """The current app's store, as ``ATTACHMENT_STORAGE`` says."""
    if current_app.config["ATTACHMENT_STORAGE"] == "database":
        return DatabaseStore()
    return FilesystemStore(current_app.config["ATTACHMENTS_DIR"])


def grace_cutoff(grace: timedelta | None = None) -> datetime:
    """Blobs written or reused before this moment may be collected."""
    if grace is None:
        grace = timedelta(seconds=current_app.config["ATTACHMENT_GC_GRACE_SECONDS"])
    return utcnow() - grace
