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
        path = DATA_DIR / f"incident_portal_bench_{stamp}.db"
        try:
            yield f"sqlite:///{path}", True
        finally:
            if not keep:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = f"incident_portal_bench_{stamp}"
    with _admin_connection() as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES_SERVER}/{name}", True
    finally:
        if not keep:
            with _admin_connection() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
