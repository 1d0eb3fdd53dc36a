"""Database settings: the URL (SQLite or PostgreSQL through psycopg 3) and its timeouts,
and the engine options that follow from them."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from portal.settings.declare import (DATA_DIR, NUMBER, WHOLE, Area, ConfigError, Setting,
                                     Type)

#: The databases the app is built and tested for (SQLAlchemy dialect+driver).
SUPPORTED_DATABASES = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")


def database_url(raw: str | None, key: str = "DATABASE_URL") -> str:
    """Return the SQLAlchemy URL: the SQLite default, or PostgreSQL through psycopg 3.

    :raises ConfigError: a malformed URL or a database other than SQLite and PostgreSQL.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not raw:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DATA_DIR / 'incident_portal.db'}"
    url = raw.strip()
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is not a number raises here
    except (ArgumentError, ValueError):
        # The URL may hold a password: name the setting, never echo the value.
        raise ConfigError(f"{key} is not a database URL (expected sqlite:///PATH or "
                          "postgresql://USER:PASSWORD@HOST/NAME)") from None
    if parsed.drivername not in SUPPORTED_DATABASES:
        raise ConfigError(f"{key} names {parsed.drivername!r}: Incident Portal runs on "
                          "SQLite (sqlite:///PATH) or PostgreSQL (postgresql://...)")
    return url


def sqlite_folder_missing(url: Any) -> str | None:
    """Why ``DATABASE_URL`` cannot work, when it names a SQLite file in a folder that does
    not exist (a configuration error, not an outage); None otherwise."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database \
            or parsed.database == ":memory:" or parsed.query.get("uri"):
        return None
    folder = Path(parsed.database).parent
    if folder.is_dir():
        return None
    return (f"DATABASE_URL names a SQLite file in {folder}, which is not a folder that "
            "exists: create it or correct the setting")


def engine_options(config: Any) -> dict[str, Any]:
    """Pool and driver options: a stale pooled connection is replaced (pre-ping), and on
    PostgreSQL a server that accepts TCP but never answers fails the connection after
    ``DATABASE_CONNECT_TIMEOUT`` seconds, a statement after ``DATABASE_STATEMENT_TIMEOUT``
    (SQLite waits at most its busy timeout, see ``SQLITE_PRAGMAS`` in ``portal``)."""
    options: dict[str, Any] = {"pool_pre_ping": True}
    if config.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
        statement_ms = int(config.DATABASE_STATEMENT_TIMEOUT * 1000)
        options["connect_args"] = {
            "connect_timeout": max(1, int(config.DATABASE_CONNECT_TIMEOUT)),
            "options": f"-c statement_timeout={statement_ms}",
        }
        options["pool_timeout"] = config.DATABASE_POOL_TIMEOUT
    return options


AREA = Area("Database", "SQLite by default, PostgreSQL through `DATABASE_URL`", (
    Setting("DATABASE_URL", "",
            "e.g. `postgresql://user:pass@host:5432/portal` (psycopg 3; `postgres://` too)",
            Type("database URL", database_url, blank_is_default=False),
            name="SQLALCHEMY_DATABASE_URI", shown="SQLite file `data/incident_portal.db`"),
    Setting("DATABASE_CONNECT_TIMEOUT", "5", "PostgreSQL: seconds to connect", WHOLE),
    Setting("DATABASE_STATEMENT_TIMEOUT", "30",
            "PostgreSQL: seconds one statement may run", NUMBER),
    Setting("DATABASE_POOL_TIMEOUT", "10", "seconds to wait for a pooled connection", WHOLE),
    Setting("DATABASE_RETRY_AFTER", "5",
            "a database error answers 503 with this `Retry-After` (seconds)", WHOLE),
))
