"""The command line: init-db, seed, create-user, and their one-line errors."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.auth.models import User
from portal.auth.roles import ROLE_NAMES
from portal.extensions import db
from portal.incidents.enums import Status
from portal.incidents.models import Comment, Incident, IncidentEvent
from portal.seed import FIXTURES_DIR
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]


def counts():
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (User, Incident, IncidentEvent, Comment))


def test_seed_loads_every_status_and_twice_changes_nothing(runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "Seeded 8 users and 9 incidents" in first.output
    after_first = counts()
    snapshot = sorted((i.id, i.title, i.status, i.version, i.updated_at)
                      for i in db.session.scalars(select(Incident)))
    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0 and "Seeded 0 users and 0 incidents" in second.output
    assert counts() == after_first
    db.session.expire_all()
    assert sorted((i.id, i.title, i.status, i.version, i.updated_at)
                  for i in db.session.scalars(select(Incident))) == snapshot
    statuses = set(db.session.scalars(select(Incident.status)))
    assert statuses == set(Status)
    users = {u.email: u.role_names for u in db.session.scalars(select(User))}
    for role in ("admin", "technician", "reporter"):
        assert 2 <= sum(role in roles for roles in users.values()) <= 3


def test_seeded_history_is_consistent(runner):
    runner.invoke(args=["seed"])
    for incident in db.session.scalars(select(Incident)):
        events = incident.events
        assert events[0].kind == "created" and events[-1].to_status == incident.status
        times = [e.created_at for e in events]
        assert times == sorted(times) and times[0] == incident.created_at
        if incident.status in (Status.resolved, Status.closed):
            assert incident.resolution_notes and incident.resolved_at


@pytest.mark.parametrize("mutate,message", [
    (lambda d: (d / "users.json").unlink(), "fixtures/users.json: file not found"),
    (lambda d: (d / "incidents.json").write_text("[{"),
     "fixtures/incidents.json: not valid JSON (line 1, column 3"),
    (lambda d: (d / "users.json").write_text('{"email": "x"}'),
     "fixtures/users.json: expected a JSON list"),
    (lambda d: _edit(d / "users.json", 2, roles=["boss"]),
     "fixtures/users.json: record 2: roles.0: Must be one of"),
    (lambda d: _edit(d / "incidents.json", 3, reporter="ghost@example.com"),
     "fixtures/incidents.json: record 3: unknown reporter 'ghost@example.com'"),
    (lambda d: _edit(d / "incidents.json", 1, colour="red"),
     "fixtures/incidents.json: record 1: colour: Unknown field"),
    (lambda d: _edit(d / "incidents.json", 4, title="  "),
     "fixtures/incidents.json: record 4: title must not be blank"),
])
def test_bad_fixtures_get_one_line_and_nothing_is_written(mutate, message, runner, tmp_path):
    directory = tmp_path / "fixtures"
    shutil.copytree(FIXTURES_DIR, directory)
    mutate(directory)
    result = runner.invoke(args=["seed", "--fixtures", str(directory)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}"), result.output
    assert len(result.output.strip().splitlines()) == 1
    assert counts() == (0, 0, 0, 0)


def _edit(path: Path, record: int, **changes) -> None:
    records = json.loads(path.read_text())
    records[record - 1].update(changes)
    path.write_text(json.dumps(records))


def test_create_user_with_each_role(runner):
    for role in ("admin", "technician", "reporter"):
        result = runner.invoke(args=["create-user", f"{role}x@example.com", "--username",
                                     f"{role}x", "--role", role, "--password", "long-enough-pw"])
        assert result.exit_code == 0, result.output
        user = db.session.scalars(select(User).where(User.username == f"{role}x")).one()
        assert user.role_names == {role} and user.active
        assert user.password != "long-enough-pw"  # hashed


def test_create_user_prompts_for_the_password(runner):
    result = runner.invoke(args=["create-user", "p@example.com", "--username", "pat",
                                 "--role", "technician"], input="long-enough-pw\nlong-enough-pw\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output


@pytest.mark.parametrize("args,message", [
    (["dup@example.com", "--username", "dupe2", "--role", "admin"],
     "a user with email dup@example.com already exists"),
    (["new@example.com", "--username", "dupe", "--role", "admin"],
     "a user with username dupe already exists"),
    (["not-an-email", "--username", "okname", "--role", "admin"], "email 'not-an-email' is not valid"),
    (["ok@example.com", "--username", "okname", "--role", "admin", "--password", "short"],
     "password is not valid"),
])
def test_create_user_errors(args, message, runner):
    make_user("reporter", username="dupe")
    existing = db.session.scalars(select(User).where(User.username == "dupe")).one()
    existing.email = "dup@example.com"
    db.session.commit()
    if "--password" not in args:
        args = [*args, "--password", "long-enough-pw"]
    result = runner.invoke(args=["create-user", *args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {message}"), result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_unknown_role_is_a_usage_error(runner):
    result = runner.invoke(args=["create-user", "a@example.com", "--username", "abc",
                                 "--role", "boss", "--password", "long-enough-pw"])
    assert result.exit_code == 2
    choices = ", ".join(f"'{name}'" for name in ROLE_NAMES)
    assert f"'boss' is not one of {choices}" in result.output


@pytest.mark.slow
def test_manage_py_help_lists_every_command():
    result = subprocess.run([sys.executable, "manage.py", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "APP_ENV": "testing"})
    assert result.returncode == 0, result.stderr
    for command in ("init-db", "seed", "create-user"):
        assert command in result.stdout


def test_readme_command_line_lists_every_command():
    """The README's command list once showed 6 of the 9 commands."""
    from portal.commands import commands

    readme = (ROOT / "README.md").read_text()
    listed = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    missing = [command.name for command in commands
               if f"python manage.py {command.name}" not in listed]
    assert missing == []
