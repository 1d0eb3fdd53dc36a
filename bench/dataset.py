"""A realistic data set for the benchmark, bulk-inserted into a fresh database.

100,000 incidents (by default) spread over three years: every status (old ones mostly
closed, recent ones still being worked), skewed priorities and categories, 40 technicians
with uneven loads, 2,000 reporters of whom a few report a lot, about 3 history events and
1 comment per incident. The schema is built the way ``manage.py init-db`` builds it
(Alembic migrations, then the roles); rows go in with SQLAlchemy Core ``insert``
executemany, in one transaction, which takes seconds rather than minutes.

Every account gets the same password hash, computed once with the app's own settings:
hashing 2,000 argon2 passwords would take longer than loading everything else, and the
benchmark logs in with only a handful of accounts.
"""
from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import Flask
from flask_migrate import upgrade
from flask_security.utils import hash_password
from sqlalchemy import func, insert, select, text

from portal.auth.models import Role, User
from portal.auth.security import ensure_roles
from portal.extensions import db
from portal.incidents.enums import Category, EventKind, Priority, SlaState, Status
from portal.incidents.models import Comment, Incident, IncidentEvent

PASSWORD = "bench-password-2026"
ADMINS, TECHNICIANS, REPORTERS = 3, 40, 2000
YEARS = 3
CHUNK = 10_000

PRIORITY_WEIGHTS = {Priority.low: 30, Priority.medium: 45, Priority.high: 18,
                    Priority.critical: 7}
CATEGORY_WEIGHTS = {Category.software: 35, Category.hardware: 20, Category.network: 20,
                    Category.access: 15, Category.other: 10}
#: Status mix of the last 30 days; older incidents are almost all resolved or closed.
RECENT_STATUS = {Status.open: 18, Status.assigned: 14, Status.in_progress: 16,
                 Status.on_hold: 6, Status.resolved: 26, Status.closed: 20}
OLD_STATUS = {Status.open: 1.0, Status.assigned: 0.7, Status.in_progress: 0.5,
              Status.on_hold: 0.4, Status.resolved: 7, Status.closed: 90}
SLA_HOURS = {Priority.critical: 4, Priority.high: 8, Priority.medium: 72, Priority.low: 168}
#: First-response targets (the SLA clock's defaults; wall-clock here, which is close enough
#: for the columns lists read: the benchmark measures reading them, not computing them).
FIRST_RESPONSE_HOURS = {Priority.critical: 0.5, Priority.high: 2, Priority.medium: 8,
                        Priority.low: 24}
#: The event that led to each status (after "created" and, when assigned, "assigned").
LAST_EVENT = {Status.in_progress: EventKind.started, Status.on_hold: EventKind.held,
              Status.resolved: EventKind.resolved, Status.closed: EventKind.closed}

SYSTEMS = ["VPN", "Email", "Printer", "Laptop", "Wi-Fi", "SAP", "Jira", "Payroll", "CRM",
           "File share", "Teams", "Monitor", "Docking station", "Badge reader", "Database",
           "Backup job", "Build server", "Intranet", "Phone", "Citrix"]
PROBLEMS = ["drops every 10 minutes", "is very slow", "does not start", "shows error 500",
            "asks for the password again and again", "cannot connect", "freezes after login",
            "lost my files", "is out of order", "times out", "shows a blank page",
            "will not sync", "rejects my badge", "crashes on save", "is unreachable"]
DETAILS = ["It started this morning after the update.", "Colleagues on the same floor see it too.",
           "Restarting did not help.", "It happens several times a day.",
           "I need this for a customer meeting.", "The error message says access denied.",
           "Only on the office network, not from home.", "It worked fine yesterday.",
           "Screenshot attached in the shared folder.", "Affects the whole team."]
COMMENTS = ["Any news on this?", "Still happening.", "I have asked the vendor.",
            "Works again after a reboot, keeping it open for a day.", "Can you call me?",
            "Waiting for a replacement part.", "Logs collected.", "Thanks, fixed for me."]


@dataclass
class Cast:
    """The accounts the benchmark uses: ids and emails (all share ``PASSWORD``)."""

    admin_email: str = ""
    technician_email: str = ""
    reporter_email: str = ""
    #: Reports the incidents of the create scenario (not ``reporter``: their list stays put).
    creator_email: str = ""
    #: The technician the assign-then-resolve scenario assigns to (not ``technician``).
    assignee_id: int = 0
    technician_ids: list[int] = field(default_factory=list)
    #: Active incidents kept for the assign-then-resolve scenario (nothing else touches them).
    pool_ids: list[int] = field(default_factory=list)
    incidents: int = 0


def create_schema(app: Flask) -> None:
    """Exactly what ``manage.py init-db`` does: the migrations, then the roles."""
    with app.app_context():
        upgrade()
        ensure_roles()
        db.session.commit()


def _users(password_hash: str) -> tuple[list[dict], dict[str, list[int]]]:
    rows, ids = [], {"admin": [], "technician": [], "reporter": []}
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for role, count in (("admin", ADMINS), ("technician", TECHNICIANS),
                        ("reporter", REPORTERS)):
        for n in range(count):
            user_id = len(rows) + 1
            ids[role].append(user_id)
            rows.append({"id": user_id, "email": f"{role}{n}@bench.example.com",
                         "username": f"{role}{n}", "password": password_hash, "active": True,
                         "fs_uniquifier": uuid.uuid4().hex, "create_datetime": now,
                         "update_datetime": now})
    return rows, ids


def _pick(rng: random.Random, weights: dict, k: int) -> list:
    return rng.choices(list(weights), weights=list(weights.values()), k=k)


def _incidents(rng: random.Random, count: int, ids: dict[str, list[int]]):
    """Yield (incident, events, comments) rows, oldest incident first."""
    end = datetime.now(timezone.utc).replace(microsecond=0)
    start = end - timedelta(days=365 * YEARS)
    span = (end - start).total_seconds()
    recent = end - timedelta(days=30)
    # Zipf-like loads: a few reporters report a lot, technicians are unevenly busy.
    reporter_weights = [1 / (n + 1) ** 0.8 for n in range(len(ids["reporter"]))]
    technician_weights = [1 / (n + 1) ** 0.5 for n in range(len(ids["technician"]))]
    reporters = rng.choices(ids["reporter"], reporter_weights, k=count)
    technicians = rng.choices(ids["technician"], technician_weights, k=count)
    priorities = _pick(rng, PRIORITY_WEIGHTS, count)
    categories = _pick(rng, CATEGORY_WEIGHTS, count)
    offsets = sorted(rng.random() * span for _ in range(count))
    admin = ids["admin"][0]
    for n in range(count):
        incident_id = n + 1
        created = start + timedelta(seconds=offsets[n])
        status = _pick(rng, RECENT_STATUS if created > recent else OLD_STATUS, 1)[0]
        priority = priorities[n]
        technician = None if status == Status.open else technicians[n]
        reporter = reporters[n]
        events = [(EventKind.created, reporter, None, Status.open, created)]
        moment = created
        if technician is not None:
            moment += timedelta(minutes=rng.randint(5, 240))
            events.append((EventKind.assigned, admin, Status.open, Status.assigned, moment))
        if status in LAST_EVENT:
            moment += timedelta(hours=rng.uniform(0.5, 96))
            previous = Status.assigned if status != Status.closed else Status.resolved
            events.append((LAST_EVENT[status], technician, previous, status, moment))
        moment = min(moment, end)
        done = status in (Status.resolved, Status.closed)
        due = created + timedelta(hours=SLA_HOURS[priority])
        responded = events[1][4] if technician is not None else None
        sla_state = (SlaState.met if done else SlaState.paused if status == Status.on_hold
                     else SlaState.breached if due < end else SlaState.ok)
        system = rng.choice(SYSTEMS)
        incident = {
            "id": incident_id, "title": f"{system} {rng.choice(PROBLEMS)}",
            "description": " ".join(rng.sample(DETAILS, rng.randint(1, 3)))
                           + f" Host ws-{rng.randint(1, 9999):04d}.",
            "status": status.value, "priority": priority.value, "priority_rank": priority.rank,
            "category": categories[n].value, "reporter_id": reporter,
            "technician_id": technician,
            "resolution_notes": "Fixed: " + rng.choice(DETAILS) if done else None,
            "created_at": created, "updated_at": moment,
            "due_at": due,
            "first_response_due_at": created + timedelta(hours=FIRST_RESPONSE_HOURS[priority]),
            "first_responded_at": responded, "sla_state": sla_state.value,
            "resolved_at": moment if done else None,
            "closed_at": moment if status == Status.closed else None, "version": len(events)}
        event_rows = [{"incident_id": incident_id, "actor_id": actor, "kind": kind.value,
                       "from_status": from_.value if from_ else None, "to_status": to.value,
                       "changes": {}, "note": None, "created_at": when}
                      for kind, actor, from_, to, when in events]
        comment_rows = [{"incident_id": incident_id,
                         "author_id": rng.choice((reporter, technician or admin)),
                         "body": rng.choice(COMMENTS), "internal": rng.random() < 0.2,
                         "created_at": min(created + timedelta(hours=rng.uniform(0.1, 48)), end)}
                        for _ in range(rng.choices((0, 1, 2, 3), (37, 37, 18, 8))[0])]
        yield incident, event_rows, comment_rows


def _insert(connection, table, rows: list[dict]) -> None:
    for at in range(0, len(rows), CHUNK):
        connection.execute(insert(table), rows[at:at + CHUNK])


def _reset_sequences(connection) -> None:
    """Explicit ids leave PostgreSQL's sequences at 1: move them past the rows."""
    for table in ("users", "incidents", "incident_events", "comments"):
        connection.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT max(id) FROM {table}))"))


def load(app: Flask, incidents: int, seed: int = 2026) -> Cast:
    """Fill the (empty, migrated) database of ``app``; returns the accounts to use."""
    rng = random.Random(seed)
    with app.app_context():
        password_hash = hash_password(PASSWORD)  # once; every account shares it
        user_rows, ids = _users(password_hash)
        role_ids = dict(db.session.execute(select(Role.name, Role.id)).all())
        incident_rows, event_rows, comment_rows = [], [], []
        for incident, events, comments in _incidents(rng, incidents, ids):
            incident_rows.append(incident)
            event_rows.extend(events)
            comment_rows.extend(comments)
        with db.engine.begin() as connection:
            _insert(connection, User.__table__, user_rows)
            _insert(connection, db.metadata.tables["roles_users"],
                    [{"user_id": user_id, "role_id": role_ids[role]}
                     for role, members in ids.items() for user_id in members])
            _insert(connection, Incident.__table__, incident_rows)
            _insert(connection, IncidentEvent.__table__, event_rows)
            _insert(connection, Comment.__table__, comment_rows)
            if connection.dialect.name == "postgresql":
                _reset_sequences(connection)
        _after_load(db.engine)
        return _cast(ids, incident_rows)


def _after_load(engine) -> None:
    """PostgreSQL: what autovacuum would soon do (statistics, visibility map)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def _cast(ids: dict[str, list[int]], incident_rows: list[dict]) -> Cast:
    """Pick the accounts: the first admin, a technician of middling load, a reporter with
    a typical number of incidents; and the pool of active incidents for the writes."""
    per_technician: dict[int, int] = {}
    per_reporter: dict[int, int] = {}
    for row in incident_rows:
        per_reporter[row["reporter_id"]] = per_reporter.get(row["reporter_id"], 0) + 1
        if row["technician_id"]:
            per_technician[row["technician_id"]] = per_technician.get(row["technician_id"], 0) + 1
    technician = sorted(per_technician, key=per_technician.get)[len(per_technician) // 2]
    reporter = sorted(per_reporter, key=per_reporter.get)[len(per_reporter) // 2]
    active = {Status.open.value, Status.assigned.value, Status.in_progress.value,
              Status.on_hold.value}
    # Not the technician's or the reporter's own: their lists stay as generated.
    pool = [row["id"] for row in incident_rows if row["status"] in active
            and row["technician_id"] != technician and row["reporter_id"] != reporter]
    return Cast(admin_email="admin0@bench.example.com",
                technician_email=f"technician{ids['technician'].index(technician)}@bench.example.com",
                reporter_email=f"reporter{ids['reporter'].index(reporter)}@bench.example.com",
                creator_email="reporter0@bench.example.com" if reporter != ids["reporter"][0]
                else "reporter1@bench.example.com",
                assignee_id=next(t for t in ids["technician"] if t != technician),
                technician_ids=ids["technician"], pool_ids=pool, incidents=len(incident_rows))


def existing_cast(app: Flask) -> Cast:
    """The cast of a database loaded earlier (``--reuse``): recomputed from its rows."""
    with app.app_context():
        rows = [dict(row._mapping) for row in db.session.execute(
            select(Incident.id, Incident.status, Incident.reporter_id, Incident.technician_id)
            .where(Incident.id <= db.session.scalar(select(func.max(Incident.id)))))]
        role_of = {}
        for user_id, name in db.session.execute(text(
                "SELECT u.id, u.username FROM users u")):
            role_of[user_id] = name
    ids = {"admin": [], "technician": [], "reporter": []}
    for user_id, name in sorted(role_of.items()):
        for role in ids:
            if name.startswith(role):
                ids[role].append(user_id)
    return _cast(ids, rows)


def row_counts(app: Flask) -> str:
    """The size of the data set, for the report."""
    tables = (("users", "users"), ("incidents", "incidents"),
              ("incident_events", "events"), ("comments", "comments"))
    with app.app_context():
        counts = [(label, db.session.scalar(text(f"SELECT count(*) FROM {table}")))
                  for table, label in tables]
        db.session.remove()
    return ", ".join(f"{count:,} {label}" for label, count in counts)
