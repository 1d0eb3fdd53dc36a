"""The floor: the cheapest way to answer the API's list page 1, to compare the app with.

A bare WSGI callable, no Flask and no extensions, served by gunicorn with the same
settings and number of workers as the app. ``GET /incidents`` answers what
``GET /api/v1/incidents`` answers an admin (the 20 newest incidents, every field of the
documented JSON shape, the ``X-Pagination`` header) with one SQL statement on one
connection per worker (plain ``sqlite3`` or ``psycopg``), and a hand-written serialiser.
It does not authenticate: what it lacks is the app's whole cost (auth, sessions,
validation, ORM, marshmallow), which is what the ratio measures.

``FLOOR_DATABASE_URL`` is the app's ``DATABASE_URL`` (``sqlite:///path`` or
``postgresql://...``).
"""
from __future__ import annotations

import json
import math
import os
import sqlite3
from datetime import timezone

PAGE_SIZE = 20
#: Page 1 and the total, in one statement: the count is a scalar subquery.
QUERY = """
SELECT i.id, i.title, i.description, i.status, i.priority, i.category,
       r.id, r.username, r.email, t.id, t.username, t.email,
       i.resolution_notes, i.created_at, i.updated_at, i.due_at, i.resolved_at, i.closed_at,
       (SELECT count(*) FROM incidents) AS total,
       i.impact, i.urgency, i.sla_state, i.first_response_due_at, i.first_responded_at,
       i.sla_paused_seconds,
       (SELECT count(*) FROM attachments a WHERE a.incident_id = i.id) AS attachments
FROM incidents i
JOIN users r ON r.id = i.reporter_id
LEFT JOIN users t ON t.id = i.technician_id
ORDER BY i.created_at DESC, i.id DESC
LIMIT {limit}
"""
#: The app's SQLite pragmas (portal/__init__.py), so both read the file the same way.
#: (Copied, not imported: importing ``portal`` would load Flask. bench/run.py checks that
#: the two lists agree.)
SQLITE_PRAGMAS = ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=10000",
                  "synchronous=NORMAL", "cache_size=-32000", "mmap_size=0",
                  "temp_store=MEMORY")

_connection = None


def _connect():
    url = os.environ["FLOOR_DATABASE_URL"]
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url[len("sqlite:///"):], check_same_thread=False)
        for pragma in SQLITE_PRAGMAS:
            connection.execute(f"PRAGMA {pragma}")
        return connection
    import psycopg

    url = url.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True)


def _timestamp(value) -> str | None:
    """``2026-11-22T09:14:03Z``: SQLite hands back naive UTC text, PostgreSQL datetimes."""
    if value is None:
        return None
    if isinstance(value, str):
        return f"{value[:10]}T{value[11:19]}Z"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _person(user_id, username, email):
    return None if user_id is None else {"id": user_id, "username": username, "email": email}


def _incident(row) -> dict:
    return {"id": row[0], "title": row[1], "description": row[2], "status": row[3],
            "priority": row[4], "category": row[5], "impact": row[19], "urgency": row[20],
            "reporter": _person(*row[6:9]),
            "technician": _person(*row[9:12]), "resolution_notes": row[12],
            "created_at": _timestamp(row[13]), "updated_at": _timestamp(row[14]),
            "due_at": _timestamp(row[15]), "resolved_at": _timestamp(row[16]),
            "closed_at": _timestamp(row[17]),
            "sla": {"state": row[21], "first_response_due_at": _timestamp(row[22]),
                    "first_responded_at": _timestamp(row[23]), "due_at": _timestamp(row[15]),
                    "paused_seconds": row[24]},
            "attachment_count": row[25]}


def list_page() -> tuple[bytes, str]:
    """The body and the X-Pagination header of page 1."""
    global _connection
    if _connection is None:
        _connection = _connect()
    rows = _connection.execute(QUERY.format(limit=PAGE_SIZE)).fetchall()
    total = rows[0][18] if rows else 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    pagination = {"total": total, "total_pages": pages, "first_page": 1, "last_page": pages,
                  "page": 1, **({"next_page": 2} if pages > 1 else {})}
    # Compact and newline-terminated, byte for byte what Flask answers.
    body = json.dumps([_incident(row) for row in rows], separators=(",", ":")) + "\n"
    return body.encode(), json.dumps(pagination)


def close() -> None:
    global _connection
    if _connection is not None:
        _connection.close()
        _connection = None


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/healthz":
        body, headers = b'{"status": "ok"}', []
    elif path == "/incidents":
        body, pagination = list_page()
        headers = [("X-Pagination", pagination)]
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body))), *headers])
    return [body]


if __name__ == "__main__":  # a quick look: python bench/floor.py
    print(list_page()[0][:500].decode())
