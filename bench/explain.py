"""Query plans of every list the API and the portal grid offer, on a bench database.

``python bench/explain.py DATABASE_URL [--grep TEXT]`` (a database kept by
``bench/run.py --keep``): each list URL is requested in-process as admin, technician or
reporter; every SQL statement it sends is captured and explained (SQLite: EXPLAIN QUERY
PLAN; PostgreSQL: EXPLAIN ANALYZE) and timed. Look for SCAN/Seq Scan over incidents,
"USE TEMP B-TREE FOR ORDER BY" and Sort nodes over many rows.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import dataset, servers, statements  # noqa: E402

API_SORTS = ("created_at", "-created_at", "priority", "-priority", "updated_at",
             "-updated_at", "due_at")
API_FILTERS = ("", "status=open", "status=closed", "priority=critical",
               "status=open&priority=critical", "category=network", "technician_id={tech}",
               "reporter_id={reporter}", "q=printer", "page=1000")
GRID = ("/admin/incidents/", "/admin/incidents/?sort=2", "/admin/incidents/?sort=3",
        "/admin/incidents/?sort=5", "/admin/incidents/?sort=6", "/admin/incidents/?sort=9",
        "/admin/incidents/?flt0_0=open", "/admin/incidents/?flt1_1=critical",
        "/admin/incidents/?flt2_6=1", "/admin/incidents/?search=printer",
        "/admin/incidents/?page=999", "/admin/incidents/details/?id=50000", "/admin/")


def urls(tech_id: int, reporter_id: int):
    for query in API_FILTERS:
        query = query.format(tech=tech_id, reporter=reporter_id)
        yield "admin", f"/api/v1/incidents?{query}"
    for sort in API_SORTS:
        yield "admin", f"/api/v1/incidents?sort={sort}"
        yield "admin", f"/api/v1/incidents?status=open&sort={sort}"
    yield "technician", "/api/v1/incidents"
    yield "technician", "/api/v1/incidents?sort=due_at"
    yield "reporter", "/api/v1/incidents"
    yield "admin", "/api/v1/incidents/50000"
    for url in GRID:
        yield "session", url
    yield "technician-session", "/admin/queue/"
    yield "technician-session", "/admin/unassigned/"
    yield "technician-session", "/admin/"


def explain(connection, dialect: str, sql: str, params) -> tuple[list[str], float]:
    # The raw DB-API cursor: the captured SQL and parameters are final, as sent.
    raw = connection.connection.dbapi_connection
    cursor = raw.cursor()
    started = time.perf_counter()
    cursor.execute(sql, params)
    cursor.fetchall()
    elapsed = (time.perf_counter() - started) * 1000
    prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
    cursor.execute(prefix + sql, params)
    rows = cursor.fetchall()
    if dialect == "sqlite":
        return [row[3] for row in rows], elapsed
    return [row[0] for row in rows], elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--grep", help="only URLs containing this")
    args = parser.parse_args()
    os.environ.update(servers.app_environment(args.url))
    from sqlalchemy import event

    from portal import create_app
    from portal.extensions import db

    app = create_app({"MAIL_DELIVERY_THREAD": False})
    cast = dataset.existing_cast(app)
    emails = {"admin": cast.admin_email, "technician": cast.technician_email,
              "reporter": cast.reporter_email}
    api = app.test_client()
    headers = {}
    for who, email in emails.items():
        token = api.post("/api/v1/auth/token", json={"email": email,
                                                     "password": dataset.PASSWORD})
        headers[who] = {"Authorization": f"Bearer {token.get_json()['token']}"}
    browsers = {"session": statements.logged_in_client(app, cast.admin_email, dataset.PASSWORD),
                "technician-session": statements.logged_in_client(
                    app, cast.technician_email, dataset.PASSWORD)}
    with app.app_context():
        engine = db.engine
    captured = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, sql, params, *rest: captured.append((sql, params)))
    # Filters on another technician's and a reporter's incidents.
    for who, url in urls(tech_id=cast.assignee_id, reporter_id=50):
        if args.grep and args.grep not in url:
            continue
        client = browsers.get(who, api)
        client.get(url, headers=headers.get(who, {}))  # warm
        captured.clear()
        started = time.perf_counter()
        response = client.get(url, headers=headers.get(who, {}))
        total = (time.perf_counter() - started) * 1000
        statements_seen = list(captured)
        print(f"\n### {who} {url} -> {response.status_code}, {total:.1f} ms, "
              f"{len(statements_seen)} statements")
        with engine.connect() as connection:
            for sql, params in statements_seen:
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                plan, elapsed = explain(connection, engine.dialect.name, sql, params)
                print(f"  {elapsed:6.2f} ms  {' '.join(sql.split())[:160]}")
                for line in plan:
                    print(f"            {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
