"""Fresh databases for a benchmark run: a new SQLite file, or a new PostgreSQL database
named ``incident_portal_bench_<timestamp>`` that is dropped at the end."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")


def _admin_connection():
    import psycopg

    return psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=3)


def postgres_available() -> bool:
    try:
        _admin_connection().close()
    except Exception:  # noqa: BLE001 - any failure means "not available"
        return False
    return True


def postgres_version() -> str:
    with _admin_connection() as connection:
        return connection.execute("SHOW server_version").fetchone()[0]


@contextlib.contextmanager
def fresh_database(kind: str, *, reuse: str | None = None, keep: bool = False):
    """Yield ``(url, created)``: a new empty database of ``kind`` (``sqlite`` or
    ``postgres``), removed afterwards unless ``keep``; or the existing ``reuse`` URL."""
    if reuse:
        yield reuse, False
        return
    stamp = time.strftime("%Y%m%d_%H%M%S")
    if kind == "sqlite":
        DATA_DIR.mkdir(exist_ok=True)
        url = f"sqlite:///{DATA_DIR / f'incident_portal_bench_{stamp}.db'}"
    else:
        url = f"{POSTGRES_SERVER}/incident_portal_bench_{stamp}"
        with _admin_connection() as connection:
            connection.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
    try:
        yield url, True
    finally:
        if not keep:
            remove(url)


def remove(url: str) -> None:
    """Delete a database ``fresh_database`` made: the SQLite file or the PostgreSQL one."""
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    with _admin_connection() as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
