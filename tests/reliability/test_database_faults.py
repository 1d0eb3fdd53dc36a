"""The server under database faults (issue 20, findings 9-12): a private PostgreSQL
cluster stopped under the app, a "database" that accepts TCP and never answers, a schema
never migrated, a database that cannot be written, operator mistakes on the command line."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid

import pytest
from flask_migrate import upgrade

from portal import create_app
from portal.auth.security import ensure_roles
from portal.extensions import db
from tests.clients import log_in
from tests.factories import make_user
from tests.components import missing
from tests.processes import app_env
from tests.waiting import DEADLINE
from harness.servers import ROOT

pytestmark = pytest.mark.slow


def build(url: str, migrate: bool = True, **config):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "DATABASE_CONNECT_TIMEOUT": 1, **config})
    if migrate:
        with app.app_context():
            upgrade()
            ensure_roles()
            db.session.commit()
    return app


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def silent_database():
    """A TCP port that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    listener.settimeout(0.2)
    import threading
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgresql+psycopg://portal@127.0.0.1:{listener.getsockname()[1]}/portal"
    stop.set()
    thread.join()
    listener.close()
    for connection in held:
        connection.close()


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_database_outage_answers_503_not_401_to_a_good_token(running_postgres):
    """Finding 9: Flask-Security's token loader swallowed the database error, so a good
    token was answered 401 and scripts threw it away."""
    url = running_postgres.create_database(f"outage_{uuid.uuid4().hex[:8]}")
    app = build(url)
    try:
        with app.app_context():
            user = make_user("admin")
            token = user.get_auth_token()
            email = user.email
        api = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        portal = app.test_client()
        assert log_in(portal, identity=email).status_code == 302
        assert api.get("/api/v1/incidents", headers=headers).status_code == 200
        assert portal.get("/admin/incidents/").status_code == 200

        running_postgres.stop("immediate")
        answer = api.get("/api/v1/incidents", headers=headers)
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert answer.headers["Retry-After"] == "5"
        assert "database is unavailable" in answer.get_json()["message"]
        page = portal.get("/admin/incidents/")
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        assert "unavailable" in page.get_data(as_text=True)
        health = api.get("/healthz")
        assert health.status_code == 503 and health.get_json()["status"] == "unavailable"

        running_postgres.start()
        assert api.get("/api/v1/incidents", headers=headers).status_code == 200
        assert api.get("/healthz").get_json() == {"status": "ok"}
    finally:
        dispose(app)


def test_a_silent_database_fails_fast_with_one_line(silent_database):
    """Finding 10: with no connect timeout, init-db hung and /healthz waited until gunicorn
    killed its worker. The subprocess timeout is a bound, far above the 1 s asked for (and
    above a start of Python on two cores that stress-ng and other suites share)."""
    result = manage("init-db", env=app_env(silent_database, DATABASE_CONNECT_TIMEOUT="1"),
                    timeout=2 * DEADLINE)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("Error: cannot reach the database:"), result.stderr
    app = build(silent_database, migrate=False)
    try:
        health = app.test_client().get("/healthz")
        assert health.status_code == 503 and health.get_json()["status"] == "unavailable"
        # A good token (the suite's secret key) whose user cannot be looked up.
        token = make_user("reporter").get_auth_token()
        api = app.test_client().get("/api/v1/incidents",
                                    headers={"Authorization": f"Bearer {token}"})
        assert api.status_code == 503 and api.headers["Retry-After"]
    finally:
        dispose(app)


def test_healthz_on_a_database_never_migrated_is_unavailable(tmp_path):
    """Finding 11: /healthz said ok while every real request failed."""
    app = build(f"sqlite:///{tmp_path / 'empty.db'}", migrate=False)
    try:
        health = app.test_client().get("/healthz")
        assert health.status_code == 503
        body = health.get_json()
        assert body["status"] == "unavailable"
        assert "no schema" in body["reason"] and "init-db" in body["reason"]
    finally:
        dispose(app)


def test_healthz_on_a_read_only_database_is_degraded(tmp_path):
    path = tmp_path / "portal.db"
    dispose(build(f"sqlite:///{path}"))
    app = build(f"sqlite:///file:{path}?mode=ro&uri=true", migrate=False)
    try:
        health = app.test_client().get("/healthz")
        assert health.status_code == 503
        assert health.get_json()["status"] == "degraded"
        assert "cannot be written" in health.get_json()["reason"]
    finally:
        dispose(app)


@pytest.fixture
def full_disk(tmp_path):
    """A small tmpfs (needs root to mount) with a migrated SQLite database on it."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        missing("mounting a small tmpfs to fill needs root")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        missing(f"cannot mount a tmpfs: {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_healthz_on_a_full_disk_is_degraded(tmp_path, full_disk):
    source = tmp_path / "portal.db"
    dispose(build(f"sqlite:///{source}"))
    shutil.copy(source, full_disk / "portal.db")
    app = build(f"sqlite:///{full_disk / 'portal.db'}", migrate=False)
    try:
        client = app.test_client()
        assert client.get("/healthz").get_json() == {"status": "ok"}
        # Unbuffered: a buffered file would try the failed write again when closed.
        with open(full_disk / "filler", "wb", buffering=0) as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass  # ENOSPC: the disk is full
        health = client.get("/healthz")
        assert health.status_code == 503, health.get_json()
        assert health.get_json()["status"] == "degraded", health.get_json()
    finally:
        dispose(app)


@pytest.mark.parametrize("url, says", [
    ("mysql://portal:secret@db/portal", "names 'mysql'"),
    ("postgresql://portal:secret@db:notaport/portal", "is not a database URL"),
    ("not a url at all", "is not a database URL"),
])
def test_an_unusable_database_url_is_one_line(url, says):
    """Finding 12: a 39-48 line traceback. The line names the setting, not the password."""
    result = manage("init-db", env=app_env(url))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "DATABASE_URL" in result.stderr and says in result.stderr
    assert "secret" not in result.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        cluster = request.getfixturevalue("running_postgres")
        yield cluster.create_database(f"fresh_{uuid.uuid4().hex[:8]}")


def test_two_init_db_at_once_on_a_fresh_database_both_succeed(fresh_database):
    """Finding 12: the second init-db crashed (a 116-line traceback on PostgreSQL, "table
    roles already exists" on SQLite). It waits for the first and finds the schema current."""
    env = app_env(fresh_database)
    runs = [subprocess.Popen([sys.executable, "manage.py", "init-db"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    try:
        outcomes = [(run.wait(60), *run.communicate()) for run in runs]
    finally:  # after a timeout too: no process left running, no pipe left open
        for run in runs:
            if run.poll() is None:
                run.kill()
            run.communicate()
    for code, out, err in outcomes:
        assert code == 0, err
        assert out.strip().splitlines()[-1] == "Database is up to date."
