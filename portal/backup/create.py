"""``create_backup``: one archive of the database and the attachment blobs it names,
while the app serves writes.

The order is what makes the parts agree: hold the collector off, take the database
snapshot, copy the blobs the snapshot names, write the manifest, release. Blobs are
written before their rows commit, so each one the snapshot names exists by then, and
none of them can be collected before it is copied. The archive is assembled beside
``path`` and linked into place when complete: ``path`` never holds half an archive.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app

from portal.attachments.storage import FilesystemStore, blob_store, sha256_of
from portal.backup.archive import ArchiveWriter, Manifest, blob_part
from portal.backup.contents import Contents
from portal.backup.databases import database_for
from portal.backup.errors import BackupError, first_line
from portal.db_errors import UNAVAILABLE
from portal.extensions import db
from portal.version import VERSION


@dataclass
class BackupMade:
    path: Path
    manifest: Manifest
    size: int
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (f"Backed up the {self.manifest.engine} database ({self.manifest.summary}) "
                f"and {self.manifest.attachments} to {self.path} ({self.size:,} bytes).")


def create_backup(path: Path) -> BackupMade:
    """Write the archive of this app's database and attachments to ``path`` (new).

    :raises BackupError: ``path`` exists or its folder does not (EX_CANTCREAT), a file
        cannot be written or read (EX_IOERR), the database is in memory (EX_CONFIG),
        pg_dump is not on PATH (EX_UNAVAILABLE), the database does not answer
        (EX_TEMPFAIL) or has no schema (EX_NOINPUT).
    """
    path = path.absolute()
    if path.exists():
        raise BackupError(f"{path} already exists: choose a new file name", os.EX_CANTCREAT)
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a folder", os.EX_CANTCREAT)
    database = database_for(db.engine,
                            connect_timeout=current_app.config["DATABASE_CONNECT_TIMEOUT"])
    store = blob_store()
    try:
        with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as folder, \
                store.removals_held():
            assembled, manifest = _write_archive(Path(folder), database, store)
            _publish(assembled, path)
    except OSError as exc:  # a full disk, a folder it may not write in
        raise BackupError(f"the backup could not write or read a file: {first_line(exc)}",
                          os.EX_IOERR) from None
    missing = manifest.missing_blobs
    made = BackupMade(path=path, manifest=manifest, size=path.stat().st_size)
    if missing:
        made.warnings.append(
            f"{len(missing)} attachment file(s) the database names were not in the "
            f"store, so not in the archive either (lost before this backup), e.g. "
            f"{missing[0]}; the manifest lists them under missing_blobs")
    return made


def _write_archive(folder: Path, database, store) -> tuple[Path, Manifest]:
    """Snapshot the database into ``folder`` and assemble the archive there."""
    try:
        part, contents = database.snapshot(folder)
    except UNAVAILABLE as exc:
        raise BackupError(f"cannot reach the database: {first_line(exc)}",
                          os.EX_TEMPFAIL) from None
    if not contents.heads:
        raise BackupError("the database has no schema (run python manage.py init-db): "
                          "there is nothing to back up", os.EX_NOINPUT)
    assembled = folder / "archive.tar"
    writer = ArchiveWriter(assembled)
    try:
        with part.open("rb") as source:
            writer.add(part.name, source, os.fstat(source.fileno()).st_size)
        part.unlink()  # room for the blobs
        missing = _add_blobs(writer, store, contents)
        manifest = Manifest(
            app_version=VERSION,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            engine=database.engine_name, schema_revision=list(contents.heads),
            attachment_storage=current_app.config["ATTACHMENT_STORAGE"],
            tables=contents.tables, missing_blobs=missing)
        writer.finish(manifest)
    except BaseException:
        writer.abandon()
        raise
    return assembled, manifest


def _add_blobs(writer: ArchiveWriter, store, contents: Contents) -> list[str]:
    """Copy the files the snapshot names; return those the store does not have intact.
    Blobs in the database are rows of the snapshot already."""
    if not isinstance(store, FilesystemStore):
        return sorted(contents.blobs - contents.blobs_in_database)
    missing = []
    for sha256 in sorted(contents.blobs):
        try:
            with store.open(sha256) as source:
                data = source.read()  # a blob is at most ATTACHMENT_MAX_BYTES
        except FileNotFoundError:
            missing.append(sha256)
            continue
        if sha256_of(data) != sha256:  # damaged on disk: a restore would refuse it
            missing.append(sha256)
            continue
        writer.add(blob_part(sha256), io.BytesIO(data), len(data))
    return missing


def _publish(assembled: Path, path: Path) -> None:
    """Put the finished archive at ``path``, unless something appeared there meanwhile."""
    try:
        os.link(assembled, path)
    except FileExistsError:
        raise BackupError(f"{path} already exists: choose a new file name",
                          os.EX_CANTCREAT) from None
    except OSError:  # a file system without hard links
        if path.exists():
            raise BackupError(f"{path} already exists: choose a new file name",
                              os.EX_CANTCREAT) from None
        os.replace(assembled, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the new name survives a crash too
    finally:
        os.close(directory)
