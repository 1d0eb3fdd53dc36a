"""The database part of an archive, per engine: a consistent snapshot while the app
serves writes, and putting one back.

- SQLite: the online backup API copies the file as of one moment (in WAL mode writers
  carry on meanwhile), and copies a snapshot back over the target in one transaction.
- PostgreSQL: a REPEATABLE READ transaction exports its snapshot, reads the contents
  through it, and ``pg_dump --format=custom --snapshot`` dumps exactly that; restoring
  drops the target's tables and runs ``pg_restore --single-transaction``. Both programs
  come from PATH (the PostgreSQL client, of the server's major version or newer).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import URL, Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from portal.backup.archive import DATABASE_PARTS
from portal.backup.contents import Contents, contents_of
from portal.backup.errors import BackupError, first_line

#: How long SQLite waits for a writer's lock before the copy gives up.
SQLITE_BUSY_SECONDS = 30


def database_for(engine: Engine, *, connect_timeout: int) -> SqliteDatabase | PostgresDatabase:
    """The engine's side of backups (the app runs on SQLite or PostgreSQL only)."""
    if engine.dialect.name == "sqlite":
        return SqliteDatabase(engine)
    return PostgresDatabase(engine, connect_timeout=connect_timeout)


def _staged(part: BinaryIO, staging: Path, name: str) -> Path:
    staged = staging / name
    with staged.open("xb") as out:
        shutil.copyfileobj(part, out, 1 << 20)
    return staged


class SqliteDatabase:
    engine_name = "sqlite"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        database = engine.url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise BackupError("the database is in memory: there is no file to back up or "
                              "restore into (set DATABASE_URL to sqlite:///PATH)", os.EX_CONFIG)
        self.path = Path(database)

    def check_target(self) -> None:
        """:raises BackupError: the database file cannot be written where it is set."""
        if not self.path.parent.is_dir():
            raise BackupError(f"{self.path.parent} is not a folder: there is nowhere to "
                              "restore the database file", os.EX_CANTCREAT)

    def snapshot(self, staging: Path) -> tuple[Path, Contents]:
        """Copy the live database to ``staging`` as of one moment; what it holds."""
        if not self.path.is_file():
            raise BackupError(f"{self.path}: no such database file", os.EX_NOINPUT)
        part = staging / DATABASE_PARTS[self.engine_name]
        self._copy(self.path, part)
        copy = create_engine(f"sqlite:///{part}", poolclass=NullPool)
        try:
            with copy.connect() as connection:
                return part, contents_of(connection)
        finally:
            copy.dispose()

    def restore(self, part: BinaryIO, staging: Path) -> None:
        """Replace the target database with the snapshot ``part`` (one transaction)."""
        staged = _staged(part, staging, DATABASE_PARTS[self.engine_name])
        self.engine.dispose()
        self._copy(staged, self.path)

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        """Copy every page in one step (one consistent moment). Python's ``backup``
        retries a locked database for ever: give up after ``SQLITE_BUSY_SECONDS``."""
        deadline = time.monotonic() + SQLITE_BUSY_SECONDS

        def give_up_when_locked_too_long(status: int, _remaining: int, _total: int) -> None:
            if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and \
                    time.monotonic() > deadline:
                raise TimeoutError
        try:
            with contextlib.closing(sqlite3.connect(source, timeout=1)) as src, \
                    contextlib.closing(sqlite3.connect(target, timeout=1)) as dst:
                src.backup(dst, progress=give_up_when_locked_too_long)
        except TimeoutError:
            raise BackupError(f"SQLite kept {target if target.exists() else source} locked "
                              f"for {SQLITE_BUSY_SECONDS} s (is the portal still writing "
                              "to it?): try again", os.EX_TEMPFAIL) from None
        except sqlite3.Error as exc:
            raise BackupError(f"SQLite could not copy {source} to {target}: "
                              f"{first_line(exc)}", os.EX_IOERR) from None


class PostgresDatabase:
    engine_name = "postgresql"

    def __init__(self, engine: Engine, *, connect_timeout: int) -> None:
        self.engine = engine
        self.connect_timeout = connect_timeout

    def check_target(self) -> None:
        """:raises BackupError: pg_restore is not on PATH."""
        self._program("pg_restore")

    def snapshot(self, staging: Path) -> tuple[Path, Contents]:
        """Dump the database to ``staging`` from one exported snapshot; what it holds."""
        pg_dump = self._program("pg_dump")
        part = staging / DATABASE_PARTS[self.engine_name]
        with self.engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.execute(text("SET LOCAL statement_timeout = 0"))
                snapshot_id = connection.scalar(text("SELECT pg_export_snapshot()"))
                contents = contents_of(connection)
                # The snapshot lives as long as this transaction: until pg_dump is done.
                self._run(pg_dump, ["--format=custom", f"--snapshot={snapshot_id}",
                                    f"--file={part}"])
        return part, contents

    def restore(self, part: BinaryIO, staging: Path) -> None:
        """Replace the target's tables with the dump ``part``."""
        pg_restore = self._program("pg_restore")
        staged = _staged(part, staging, DATABASE_PARTS[self.engine_name])
        self._drop_tables()
        self.engine.dispose()
        # No owners, grants or comments: the dump's roles may not exist here, and a
        # comment on the pg_trgm extension needs its owner.
        self._run(pg_restore, ["--single-transaction", "--exit-on-error", "--no-owner",
                               "--no-privileges", "--no-comments"], file=staged,
                  after="; the target's tables were dropped first: fix the cause and "
                        "restore again")

    def _drop_tables(self) -> None:
        """Drop every table of the target (with their sequences and indexes), at once."""
        with self.engine.begin() as connection:
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            quote = connection.dialect.identifier_preparer.quote
            names = inspect(connection).get_table_names()
            if names:
                connection.execute(text(f"DROP TABLE {', '.join(map(quote, names))} CASCADE"))

    @staticmethod
    def _program(name: str) -> str:
        found = shutil.which(name)
        if not found:
            raise BackupError(f"{name} is not on PATH: PostgreSQL backups need the "
                              "PostgreSQL client programs pg_dump and pg_restore (of the "
                              "server's major version or newer)", os.EX_UNAVAILABLE)
        return found

    def _run(self, program: str, options: list[str], *, file: Path | None = None,
             after: str = "") -> None:
        """Run a PostgreSQL client program against the app's database; the password
        goes in the environment, never on a command line others can read."""
        url = self.engine.url
        conninfo = URL.create("postgresql", username=url.username, host=url.host,
                              port=url.port, database=url.database, query=url.query)
        env = {**os.environ, "PGCONNECT_TIMEOUT": str(max(2, self.connect_timeout))}
        if url.password:
            env["PGPASSWORD"] = url.password
        command = [program, *options, "--no-password",
                   f"--dbname={conninfo.render_as_string(hide_password=False)}"]
        result = subprocess.run([*command, *([str(file)] if file else [])], env=env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if result.returncode:
            lines = result.stderr.strip().splitlines() or [f"exit status {result.returncode}"]
            reason = next((line for line in lines if "error" in line), lines[0])
            raise BackupError(f"{Path(program).name} failed: {reason}{after}", os.EX_SOFTWARE)
