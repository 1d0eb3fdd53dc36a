"""Load the demo data in ``fixtures/`` (users, then incidents and their history).

Incidents are replayed through the lifecycle functions, step by step, so their history,
SLA targets and timestamps are exactly what the portal would have produced; only the
clock is moved back afterwards so the demo shows incidents of different ages. Loading is
idempotent: users are matched by email, incidents by title and reporter.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask_security import hash_password
from flask_security.confirmable import confirm_user
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from portal.auth.confirmation import owner_of
from portal.auth.models import User
from portal.auth.roles import ROLE_NAMES
from portal.auth.security import ensure_roles, user_datastore
from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Category, Priority
from portal.incidents.lifecycle import Needs
from portal.incidents.models import Incident
from portal.sla import clock as sla_clock

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
#: A step is any command of the lifecycle's registry, a comment or an update.
COMMANDS = {spec.name: spec for spec in lifecycle.commands()}
STEP_ACTIONS = (*COMMANDS, "comment", "update")
#: The times a step may set, moved back to when the step happened.
STAMPS = ("resolved_at", "closed_at")
#: The step field that holds what each kind of command needs.
NEEDS_FIELD = {Needs.technician: "technician", Needs.resolution_notes: "notes",
               Needs.note: "note"}


class FixtureError(Exception):
    """A fixture file is missing or malformed; the message names the file and record."""


class UserRecord(Schema):
    class Meta:
        unknown = RAISE

    email = fields.Email(required=True)
    username = fields.String(required=True, validate=validate.Length(min=1, max=255))
    password = fields.String(required=True, validate=validate.Length(min=8))
    roles = fields.List(fields.String(validate=validate.OneOf(ROLE_NAMES)),
                        required=True, validate=validate.Length(min=1))


class StepRecord(Schema):
    class Meta:
        unknown = RAISE

    action = fields.String(required=True, validate=validate.OneOf(STEP_ACTIONS))
    by = fields.Email(required=True)
    at_hours = fields.Float(load_default=None)
    technician = fields.Email(load_default=None)
    notes = fields.String(load_default=None)
    note = fields.String(load_default=None)
    body = fields.String(load_default=None)
    internal = fields.Boolean(load_default=False)
    changes = fields.Dict(keys=fields.String(), load_default=None)


class IncidentRecord(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(required=True)
    description = fields.String(required=True)
    priority = fields.String(load_default=Priority.medium.value,
                             validate=validate.OneOf([p.value for p in Priority]))
    category = fields.String(load_default=Category.other.value,
                             validate=validate.OneOf([c.value for c in Category]))
    reporter = fields.Email(required=True)
    opened_hours_ago = fields.Float(required=True, validate=validate.Range(min=0))
    steps = fields.List(fields.Nested(StepRecord), load_default=list)


@dataclass
class SeedResult:
    users_added: int = 0
    incidents_added: int = 0


def _read(path: Path, schema: Schema) -> list[dict[str, Any]]:
    name = f"{path.parent.name}/{path.name}"
    if not path.is_file():
        raise FixtureError(f"{name}: file not found")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{name}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg})") from None
    except UnicodeDecodeError:
        raise FixtureError(f"{name}: not UTF-8 text") from None
    if not isinstance(raw, list):
        raise FixtureError(f"{name}: expected a JSON list of records")
    records = []
    for index, item in enumerate(raw, start=1):
        try:
            records.append(schema.load(item))
        except ValidationError as exc:
            raise FixtureError(f"{name}: record {index}: {_first_error(exc.messages)}") from None
    return records


def _first_error(messages: Any, prefix: str = "") -> str:
    """Flatten marshmallow's nested messages to ``field.sub: reason``."""
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        return _first_error(value, f"{prefix}{key}." if key != "_schema" else prefix)
    if isinstance(messages, list):
        return _first_error(messages[0], prefix)
    return f"{prefix.rstrip('.')}: {messages}" if prefix else str(messages)


def load_fixtures(directory: Path = FIXTURES_DIR) -> SeedResult:
    """Load users and incidents from ``directory``; the caller commits or rolls back.

    :raises FixtureError: a file is missing or a record is malformed or inconsistent.
    """
    users = _read(directory / "users.json", UserRecord())
    incidents = _read(directory / "incidents.json", IncidentRecord())
    ensure_roles()
    result = SeedResult()
    result.users_added = _load_users(users)
    result.incidents_added = _load_incidents(incidents, f"{directory.name}/incidents.json")
    return result


def _load_users(records: list[dict[str, Any]]) -> int:
    datastore = user_datastore()
    added = 0
    for record in records:
        if owner_of(record["email"]) is not None:
            continue  # an unconfirmed registration of the address gives way (release)
        # The demo's people are made by whoever seeds: their addresses are confirmed.
        confirm_user(datastore.create_user(email=record["email"],
                                           username=record["username"],
                                           password=hash_password(record["password"]),
                                           roles=record["roles"]))
        added += 1
    db.session.flush()
    return added


def _load_incidents(records: list[dict[str, Any]], name: str) -> int:
    users = {user.email: user for user in db.session.scalars(db.select(User))}
    added = 0
    for index, record in enumerate(records, start=1):
        def user(email: str, role: str) -> User:
            try:
                return users[email]
            except KeyError:
                raise FixtureError(f"{name}: record {index}: unknown {role} {email!r}") from None

        reporter = user(record["reporter"], "reporter")
        exists = db.session.scalar(db.select(Incident.id).where(
            Incident.title == record["title"].strip(), Incident.reporter_id == reporter.id))
        if exists is not None:
            continue
        try:
            _replay(record, reporter, user)
        except lifecycle.LifecycleError as exc:
            raise FixtureError(f"{name}: record {index}: {exc.message}") from None
        added += 1
    return added


def _replay(record: dict[str, Any], reporter: User, user) -> None:
    opened = utcnow() - timedelta(hours=record["opened_hours_ago"])
    incident = lifecycle.create(actor=reporter, title=record["title"],
                                description=record["description"],
                                priority=record["priority"], category=record["category"])
    incident.created_at = incident.updated_at = incident.events[0].created_at = opened
    at = 0.0
    for step in record["steps"]:
        at = step["at_hours"] if step["at_hours"] is not None else at + 1
        when = opened + timedelta(hours=at)
        actor = user(step["by"], "actor")
        action = step["action"]
        if action == "comment":
            lifecycle.comment(incident, actor=actor, body=step["body"],
                              internal=step["internal"]).created_at = when
            continue
        stamped = {stamp: getattr(incident, stamp) for stamp in STAMPS}
        if action == "update":
            lifecycle.update(incident, actor=actor, **(step["changes"] or {}))
        else:
            spec = COMMANDS[action]
            value = step.get(NEEDS_FIELD.get(spec.needs, ""))
            if spec.needs is Needs.technician:
                value = user(value, "technician")
            spec.run(incident, actor=actor, value=value)
        # The step happened at ``when``: so did whatever time it stamped.
        for stamp, before in stamped.items():
            if getattr(incident, stamp) not in (None, before):
                setattr(incident, stamp, when)
        incident.events[-1].created_at = incident.updated_at = when
    db.session.flush()
    # The history was written "now" and moved back in time: its clock, from the moved one.
    sla_clock.refresh(incident)
    db.session.flush()
