"""``restore_backup``: put an archive back into this app's database and blob store.

Nothing is written before the whole archive checks out (every part present, listed and
matching its sha256) and the target suits it: the same engine and storage backend, a
schema revision this code knows (an older one is upgraded afterwards: ``manage.py
restore`` runs ``init-db``), and a database that holds no data, unless ``force``. Then
the blobs go in first (as uploads write them before their rows), then the database,
whose tables are counted against the manifest.

Restore into a stopped app: a web server or worker still running would write into a
database that is being replaced. Restoring across engines is not supported.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from portal.attachments.storage import blob_store
from portal.backup.archive import Archive, Manifest
from portal.backup.contents import Contents, contents_of
from portal.backup.databases import database_for
from portal.backup.errors import BackupError, first_line
from portal.db_errors import UNAVAILABLE
from portal.extensions import db


@dataclass
class Restored:
    path: Path
    manifest: Manifest

    def describe(self) -> str:
        manifest = self.manifest
        return (f"Restored {self.path} (made {manifest.created_at} by Incident Portal "
                f"{manifest.app_version}): {manifest.summary} and {manifest.attachments}.")


def restore_backup(path: Path, *, force: bool = False) -> Restored:
    """Restore the archive at ``path`` into this app's database and blob store.

    :raises BackupError: no archive (EX_NOINPUT); not an archive, incomplete, damaged,
        altered, or of a schema newer than the code (EX_DATAERR); another engine or
        storage backend, a database in memory (EX_CONFIG); pg_restore not on PATH
        (EX_UNAVAILABLE); a target holding data without ``force``, or no folder for it
        (EX_CANTCREAT); the database does not answer (EX_TEMPFAIL); a file cannot be
        written or read (EX_IOERR).
    """
    with Archive.open(path) as archive:
        manifest = archive.manifest
        database = database_for(db.engine,
                                connect_timeout=current_app.config["DATABASE_CONNECT_TIMEOUT"])
        _check_suits(manifest, database.engine_name)
        database.check_target()
        held = _target_contents().data_tables
        if held and not force:
            tables = ", ".join(f"{name} ({rows:,})" for name, rows in sorted(held.items())[:3])
            raise BackupError(f"the target database holds data (rows in {tables}"
                              f"{', ...' if len(held) > 3 else ''}): a restore replaces "
                              "everything in it; pass --force to do that", os.EX_CANTCREAT)
        try:
            _write(archive, database)
        except UNAVAILABLE as exc:
            raise BackupError(f"cannot reach the database: {first_line(exc)}",
                              os.EX_TEMPFAIL) from None
        except OSError as exc:  # a full disk, a folder it may not write in
            raise BackupError(f"the restore could not write or read a file: "
                              f"{first_line(exc)}", os.EX_IOERR) from None
        restored = _target_contents()
    db.engine.dispose()  # later connections (init-db's) start afresh
    differ = sorted(name for name in set(restored.tables) | set(manifest.tables)
                    if restored.tables.get(name) != manifest.tables.get(name))
    if differ:
        name = differ[0]
        raise BackupError(f"the restored database does not match the manifest: {name} has "
                          f"{restored.tables.get(name, 'no')} rows, the manifest says "
                          f"{manifest.tables.get(name, 'none')}", os.EX_SOFTWARE)
    return Restored(path=path, manifest=manifest)


def _write(archive: Archive, database) -> None:
    """The files first, as uploads write them before their rows; then the database."""
    store = blob_store()
    for name in archive.manifest.blob_parts:
        store.put(archive.part(name).read())
    with tempfile.TemporaryDirectory(prefix="portal-restore-") as staging:
        database.restore(archive.part(archive.manifest.database_part), Path(staging))


def _check_suits(manifest: Manifest, engine_name: str) -> None:
    if manifest.engine != engine_name:
        raise BackupError(f"the archive holds a {manifest.engine} database and this portal "
                          f"runs on {engine_name}: restoring across engines is not "
                          "supported", os.EX_CONFIG)
    storage = current_app.config["ATTACHMENT_STORAGE"]
    if manifest.attachment_storage != storage:
        raise BackupError(f"the archive was made with ATTACHMENT_STORAGE="
                          f"{manifest.attachment_storage} and this portal has "
                          f"ATTACHMENT_STORAGE={storage}: set it to "
                          f"{manifest.attachment_storage} to restore", os.EX_CONFIG)
    script = ScriptDirectory(current_app.extensions["migrate"].directory)
    for head in manifest.schema_revision:
        try:
            known = script.get_revision(head) is not None
        except (CommandError, RevisionError):
            known = False
        if not known:
            raise BackupError(f"the archive's schema is at revision {head}, which this code "
                              f"does not know: it was made by a newer Incident Portal "
                              f"({manifest.app_version}); restore it with that version or "
                              "a later one", os.EX_DATAERR)


def _target_contents() -> Contents:
    try:
        with db.engine.connect() as connection:
            return contents_of(connection)
    except UNAVAILABLE as exc:
        raise BackupError(f"cannot reach the database: {first_line(exc)}",
                          os.EX_TEMPFAIL) from None
    except SQLAlchemyError as exc:
        raise BackupError(f"cannot read the target database: {first_line(exc)}",
                          os.EX_DATAERR) from None
