"""The benchmark of issue 7: ``python bench/run.py [--db sqlite|postgres|both] [--duration S]``
(``make bench`` runs it with the project's venv).

For each database: a fresh database with the realistic data set (``dataset.py``), the
app under gunicorn as production runs it, wrk against each scenario (``bench/wrk/*.lua``),
the floor (``floor.py``) wrk'ed the same way, SQL statements per request counted
in-process, the workers' peak memory; a table printed and written to
``bench/results/<date>-<database>.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the app's packages and bench.*

from bench import dataset, databases, debian, loadgen, report, servers, statements  # noqa: E402

DATA_DIR = databases.DATA_DIR


@dataclass
class Scenario:
    """One wrk run: ``script`` against ``path`` as ``who`` (an API token or, with
    ``session``, a portal login cookie); ``env`` goes to the Lua script."""

    key: str
    name: str
    script: str
    path: str
    who: str
    session: bool = False
    env: dict[str, str] = field(default_factory=dict)


def scenarios(cast: dataset.Cast) -> list[Scenario]:
    """Reads first; the writes (create, assign-then-resolve) last, so they do not change
    what the reads see while they are measured."""
    any_id = {"BENCH_MAX_ID": str(cast.incidents)}
    return [
        Scenario("list", "API list page 1 (admin)", "get.lua", "/api/v1/incidents", "admin"),
        Scenario("filtered", "API list filtered (status=open&priority=critical)", "get.lua",
                 "/api/v1/incidents?status=open&priority=critical", "admin"),
        Scenario("technician", "API list as a technician", "get.lua", "/api/v1/incidents",
                 "technician"),
        Scenario("reporter", "API list as a reporter", "get.lua", "/api/v1/incidents",
                 "reporter"),
        Scenario("deep", "API deep page (page=1000)", "get.lua",
                 "/api/v1/incidents?page=1000", "admin"),
        Scenario("search", "API text search (q=printer)", "get.lua",
                 "/api/v1/incidents?q=printer", "admin"),
        Scenario("get", "API single GET (random id)", "random_id.lua",
                 "/api/v1/incidents/{id}", "admin", env=any_id),
        Scenario("grid", "Admin grid page 1 (/admin/incidents/)", "get.lua",
                 "/admin/incidents/", "admin", session=True),
        Scenario("details", "Incident details page (random id)", "random_id.lua",
                 "/admin/incidents/details/?id={id}", "admin", session=True, env=any_id),
        Scenario("dashboard", "Dashboard (/admin/)", "get.lua", "/admin/", "admin",
                 session=True),
        Scenario("create", "API create", "create.lua", "/api/v1/incidents", "creator"),
        Scenario("assign", "API assign-then-resolve (per request)", "assign_resolve.lua",
                 "/api/v1/incidents", "admin"),
    ]


FLOOR = Scenario("floor", "Floor: list page 1 (bare WSGI, 1 SQL)", "get.lua", "/incidents", "")


@dataclass
class Credentials:
    tokens: dict[str, str]
    cookie: str
    clients: dict[str, object]  # in-process test clients, for counting statements


def log_in(app, cast: dataset.Cast) -> Credentials:
    """API tokens for each account, and a portal session for the admin (through the real
    login form with its CSRF token). Made in-process: the server shares the secret key
    and the database, so the token and the session cookie are good there too."""
    emails = {"admin": cast.admin_email, "technician": cast.technician_email,
              "reporter": cast.reporter_email, "creator": cast.creator_email}
    tokens = {}
    client = app.test_client()
    for who, email in emails.items():
        response = client.post("/api/v1/auth/token",
                               json={"email": email, "password": dataset.PASSWORD})
        if response.status_code != 200:
            raise RuntimeError(f"no token for {email}: {response.status_code}")
        tokens[who] = response.get_json()["token"]
    browser = statements.logged_in_client(app, cast.admin_email, dataset.PASSWORD)
    cookie = browser.get_cookie("session")
    return Credentials(tokens, f"session={cookie.value}", {"session": browser,
                                                           "api": app.test_client()})


def check_floor_answers_the_same(app, credentials: Credentials, url: str) -> None:
    """The floor must answer what the app answers an admin for page 1, byte for byte;
    otherwise the comparison would not be fair."""
    from bench import floor

    os.environ["FLOOR_DATABASE_URL"] = url
    body, pagination = floor.list_page()
    response = credentials.clients["api"].get(
        "/api/v1/incidents", headers={"Authorization": f"Bearer {credentials.tokens['admin']}"})
    if response.get_data() != body or json.loads(response.headers["X-Pagination"]) != \
            json.loads(pagination):
        sys.exit("bench/floor.py does not answer what GET /api/v1/incidents answers: fix it")
    floor.close()


def count_statements(app, scenario: Scenario, cast: dataset.Cast,
                     credentials: Credentials) -> float:
    """SQL statements per request of ``scenario``, in-process, after a warming request."""
    headers = {"Authorization": f"Bearer {credentials.tokens[scenario.who]}"}
    client = credentials.clients["api"]
    if scenario.session:
        client, headers = credentials.clients["session"], {}
    if scenario.key == "create":
        body = {"title": "Counting statements", "description": "One request",
                "priority": "high", "category": "network"}
        return statements.per_request(app, lambda: client.post(
            scenario.path, json=body, headers=headers))
    if scenario.key == "assign":
        def assign_then_resolve():
            incident_id = cast.pool_ids.pop()
            client.post(f"/api/v1/incidents/{incident_id}/assign", headers=headers,
                        json={"technician_id": cast.assignee_id})
            client.post(f"/api/v1/incidents/{incident_id}/resolve", headers=headers,
                        json={"resolution_notes": "Counting statements"})
        return statements.per_request(app, assign_then_resolve, requests=2)
    path = scenario.path.replace("{id}", str(cast.incidents // 2))
    return statements.per_request(app, lambda: client.get(path, headers=headers))


def write_pools(pool_ids: list[int], kind: str) -> tuple[Path, Path]:
    """The active incidents for assign-then-resolve, split between the warm-up (a quarter)
    and the timed run, so that the timed run never meets an incident already resolved."""
    quarter = len(pool_ids) // 4
    paths = (DATA_DIR / f"pool-warmup-{kind}.txt", DATA_DIR / f"pool-{kind}.txt")
    for path, ids in zip(paths, (pool_ids[:quarter], pool_ids[quarter:])):
        path.write_text("\n".join(map(str, ids)) + "\n")
    return paths


def wrk_env(scenario: Scenario, cast: dataset.Cast, credentials: Credentials | None,
            pool_files: tuple[Path, Path]) -> dict[str, str]:
    env = {"BENCH_PATH": scenario.path, **scenario.env}
    if credentials and scenario.session:
        env["BENCH_COOKIE"] = credentials.cookie
    elif credentials and scenario.who:
        env["BENCH_TOKEN"] = credentials.tokens[scenario.who]
    if scenario.key == "assign":
        env.update(BENCH_WARMUP_POOL_FILE=str(pool_files[0]), BENCH_POOL_FILE=str(pool_files[1]),
                   BENCH_TECHNICIAN_ID=str(cast.assignee_id))
    return env


def measure(base_url: str, scenario: Scenario, env: dict[str, str], args) -> loadgen.Load:
    """A short warm-up (discarded), then the timed run."""
    options = {"connections": args.connections, "threads": args.threads}
    url = base_url + scenario.path
    if args.warmup > 0:
        warmup_env = dict(env)
        if "BENCH_WARMUP_POOL_FILE" in env:  # assign-then-resolve: incidents of its own
            warmup_env["BENCH_POOL_FILE"] = env["BENCH_WARMUP_POOL_FILE"]
        loadgen.run(url, scenario.script, warmup_env, duration=args.warmup, **options)
    load = loadgen.run(url, scenario.script, env, duration=args.duration, **options)
    print(f"  {scenario.name:<55} {load.rps:8.0f} req/s  p50 {load.p50_ms:6.1f} ms  "
          f"p99 {load.p99_ms:6.1f} ms  errors {load.non_2xx + load.socket_errors}", flush=True)
    return load


def row(scenario: Scenario, load: loadgen.Load, statement_count: float | None) -> report.Row:
    return report.Row(scenario.key, scenario.name, load.rps, load.p50_ms, load.p99_ms,
                      load.non_2xx + load.socket_errors, statement_count)


@dataclass
class Prepared:
    """A loaded database and what the runs need from it."""

    url: str
    environment: dict[str, str]
    cast: dataset.Cast
    scenarios: list[Scenario]
    credentials: Credentials
    statements: dict[str, float]
    pool_files: tuple[Path, Path]
    settings: list[str]


def prepare(kind: str, url: str, fresh: bool, args) -> Prepared:
    """Schema and data (for a fresh database), logins, the floor's sanity check and the
    statements per request, all in-process; then the database is left to the servers."""
    environment = servers.app_environment(url)
    os.environ.update(environment)  # the in-process app reads the same settings
    from portal import create_app
    from portal.extensions import db

    app = create_app({"MAIL_DELIVERY_THREAD": False})
    started = time.monotonic()
    dataset.create_schema(app)
    cast = dataset.load(app, args.incidents) if fresh else dataset.existing_cast(app)
    load_seconds = time.monotonic() - started
    print(f"data set: {cast.incidents:,} incidents in {load_seconds:.1f} s "
          f"(schema by the migrations, then bulk inserts)", flush=True)
    settings = [f"- data: {dataset.row_counts(app)}; generated and loaded in "
                f"{load_seconds:.1f} s",
                f"- load: wrk, {args.connections} connections, {args.threads} threads, "
                f"{args.duration:g} s per scenario after a {args.warmup:g} s warm-up; "
                f"gunicorn {servers.WORKERS} workers, {servers.worker_threads()} "
                f"(portal/deploy/gunicorn.conf.py)"]
    selected = [s for s in scenarios(cast) if not args.only or s.key in args.only]
    credentials = log_in(app, cast)
    check_floor_answers_the_same(app, credentials, url)
    counts = {s.key: count_statements(app, s, cast, credentials) for s in selected}
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # the servers get the database to themselves
    return Prepared(url, environment, cast, selected, credentials, counts,
                    write_pools(cast.pool_ids, kind), settings)


def run_floor(prepared: Prepared, log_path: Path, args) -> tuple[report.Row, float]:
    """wrk against the floor; its row and its workers' peak RSS."""
    environment = {**prepared.environment, "FLOOR_DATABASE_URL": prepared.url}
    with servers.gunicorn("bench.floor:app", environment, "/healthz", log_path) as floor:
        load = measure(floor.base_url, FLOOR, {}, args)
        return row(FLOOR, load, 1), floor.peak_rss_mb()


def run_app(prepared: Prepared, log_path: Path, args) -> tuple[dict[str, report.Row], float]:
    """wrk against the app, scenario after scenario; the rows and the workers' peak RSS."""
    rows = {}
    with servers.gunicorn("wsgi:app", prepared.environment, "/healthz", log_path) as server:
        for scenario in prepared.scenarios:
            env = wrk_env(scenario, prepared.cast, prepared.credentials, prepared.pool_files)
            rows[scenario.key] = row(scenario, measure(server.base_url, scenario, env, args),
                                     prepared.statements[scenario.key])
        return rows, server.peak_rss_mb()


def bench_database(kind: str, args) -> Path | None:
    """The whole benchmark on one database; returns the results file written (none with
    ``--only``, whose partial tables are for trying things out)."""
    label = "SQLite" if kind == "sqlite" else "PostgreSQL"
    print(f"\n== {label} ==", flush=True)
    load_before = report.load_average()
    DATA_DIR.mkdir(exist_ok=True)
    log_path = DATA_DIR / f"gunicorn-{kind}.log"
    with databases.fresh_database(kind, reuse=args.reuse, keep=args.keep) as (url, fresh):
        prepared = prepare(kind, url, fresh, args)
        floor_row, floor_rss = None, None
        if not args.only or "floor" in args.only or "list" in args.only:
            floor_row, floor_rss = run_floor(prepared, log_path, args)
        rows, peak_rss = run_app(prepared, log_path, args)
    report.check_targets(rows, floor_row)
    version = databases.postgres_version() if kind == "postgres" else sqlite3.sqlite_version
    text = report.markdown(database=label, database_version=version, load=load_before,
                           settings=prepared.settings, rows=list(rows.values()),
                           floor=floor_row, peak_rss_mb=peak_rss, floor_rss_mb=floor_rss,
                           command=args.command)
    print("\n" + report.table(list(rows.values()), floor_row))
    print(f"peak worker RSS {peak_rss:.0f} MiB")
    if args.only:
        return None
    path = report.write(text, label)
    print(f"written to {path.relative_to(ROOT)}")
    return path


def parse_args(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"),
                        help="default: both when PostgreSQL answers on 127.0.0.1:5432, "
                             "else sqlite")
    parser.add_argument("--duration", type=float, default=10, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--only", nargs="*", help="run only these scenario keys "
                        "(list filtered technician reporter deep search get grid details "
                        "dashboard create assign floor); no results file is written")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="URL", help="benchmark an existing bench database "
                        "(its schema is upgraded first) instead of a fresh one")
    args = parser.parse_args(argv)
    args.command = "python bench/run.py " + shlex.join(argv) if argv else "python bench/run.py"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from bench import floor
    from portal import SQLITE_PRAGMAS

    if floor.SQLITE_PRAGMAS != SQLITE_PRAGMAS:
        sys.exit("bench/floor.py's SQLITE_PRAGMAS differ from portal/__init__.py's: copy them")
    debian.ensure("wrk")
    kinds = {"sqlite": ["sqlite"], "postgres": ["postgres"], "both": ["sqlite", "postgres"]}
    if args.db is None:
        args.db = "both" if databases.postgres_available() else "sqlite"
        if args.db == "sqlite":
            print("PostgreSQL does not answer on 127.0.0.1:5432: SQLite only.")
    if args.reuse and args.db == "both":
        sys.exit("--reuse names one database: say --db sqlite or --db postgres")
    for kind in kinds[args.db]:
        bench_database(kind, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
