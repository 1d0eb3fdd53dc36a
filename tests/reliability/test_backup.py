"""Backups that restore (issue 29), on this pass's engine: an archive taken while a real
server takes writes and the collector removes files holds one consistent moment (every
write acknowledged before the backup began, none acknowledged after it ended, and the
file of every attachment it names); restored from a quiet source it is the source row
for row and blob for blob, and the portal serves from it; an archive of an older schema
is upgraded on restore."""
from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import timedelta

import pytest
import requests
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select

from harness.clients import csrf_token_from
from harness.servers import gunicorn
from portal import MIGRATIONS_DIR
from portal.attachments.models import Attachment
from portal.attachments.service import collect_garbage
from portal.attachments.storage import FilesystemStore, sha256_of
from portal.auth.security import ensure_roles
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from portal.incidents.models import Incident
from portal.settings.database import database_url as sqlalchemy_url
from tests.attachments.helpers import attach, png, run_previews
from tests.backups import connected, every_row, named_blobs
from tests.factories import PASSWORD, make_incident, make_user
from tests.processes import app_env, run, start_process
from tests.waiting import wait_until

pytestmark = pytest.mark.slow


def token_for(base: str, user) -> dict[str, str]:
    response = requests.post(f"{base}/api/v1/auth/token", timeout=30,
                             json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def ids_in(url: str, column) -> set[int]:
    with connected(url) as connection:
        return set(connection.scalars(select(column)))


class Load:
    """Writes through the server until stopped: ``writer`` reports incidents and attaches
    a new file to each; once ``deleting`` is set, two deleters delete the attachments
    they are given; ``collector`` runs the garbage collector (as the worker's job does)
    in this process. Every answer is kept with the moment it came."""

    def __init__(self, base: str, headers: dict[str, str], doomed: list[int], collector_app):
        self.base, self.headers = base, headers
        self.doomed = doomed
        self.collector_app = collector_app
        self.stop, self.deleting = threading.Event(), threading.Event()
        self.files: dict[int, tuple[bytes, float]] = {}   # attachment id -> (bytes, acked)
        self.incidents: dict[int, float] = {}              # incident id -> acked
        self.deleted: dict[int, float] = {}                # attachment id -> acked
        self.collected = 0
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._guarded, args=(work,))
                        for work in (self._write, self._delete, self._delete, self._collect)]

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop.set()
        self.deleting.set()
        for thread in self.threads:
            thread.join(60)

    def _guarded(self, work) -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - reported by the test, not lost in a thread
            self.failures.append(f"{work.__name__}: {exc!r}")

    def _write(self) -> None:
        session = requests.Session()
        n = 0
        while not self.stop.is_set():
            n += 1
            created = session.post(f"{self.base}/api/v1/incidents", headers=self.headers,
                                   json={"title": f"Load {n}", "description": "written "
                                         "while a backup runs"}, timeout=60)
            if created.status_code != 201:
                self.failures.append(f"create {n}: {created.status_code} {created.text[:200]}")
                continue
            incident_id = created.json()["id"]
            self.incidents[incident_id] = time.monotonic()
            data = f"written under load {n} {uuid.uuid4()}\n".encode() * 50
            attached = session.post(f"{self.base}/api/v1/incidents/{incident_id}/attachments",
                                    headers=self.headers, files={"file": (f"{n}.txt", data)},
                                    timeout=60)
            if attached.status_code != 201:
                self.failures.append(f"attach {n}: {attached.status_code} {attached.text[:200]}")
                continue
            self.files[attached.json()["id"]] = (data, time.monotonic())

    def _delete(self) -> None:
        session = requests.Session()
        self.deleting.wait()
        while self.doomed and not self.stop.is_set():
            attachment_id = self.doomed.pop(0)  # oldest first: SQLite reuses the newest id
            deleted = session.delete(f"{self.base}/api/v1/attachments/{attachment_id}",
                                     headers=self.headers, timeout=60)
            if deleted.status_code != 204:
                self.failures.append(f"delete {attachment_id}: {deleted.status_code}")
                continue
            self.deleted[attachment_id] = time.monotonic()

    def _collect(self) -> None:
        while not self.stop.is_set():
            with self.collector_app.app_context():
                # Files of the history below are an hour old; new uploads are younger
                # than the grace, as the collector's contract wants of uploads in flight.
                self.collected += collect_garbage(timedelta(minutes=10))
                db.session.remove()


def test_a_backup_under_writes_restores_one_consistent_moment(database_url, new_database,
                                                               storage, make_app, processes,
                                                               tmp_path):
    blobs = tmp_path / "blobs"
    settings = storage("filesystem", blobs)
    admin, reporter = make_user("admin"), make_user("reporter")
    # A history to delete from while the backup runs: 160 files, an hour old (older
    # than the collector's grace), large enough that copying them takes a while.
    doomed = []
    for i in range(16):
        incident = make_incident(reporter=reporter, admin=admin, title=f"History {i}")
        doomed += [attach(incident, reporter, f"old-{i}-{j}.log",
                          os.urandom(256 * 1024)).id for j in range(10)]
    an_hour_ago = time.time() - 3600
    for path in blobs.glob("*/*/*"):
        os.utime(path, (an_hour_ago, an_hour_ago))
    collector_app = make_app(**settings)
    archive = tmp_path / "portal.tar"

    with gunicorn(database_url, extra_env=settings, log_path=tmp_path / "web.log") as base, \
            Load(base, token_for(base, admin), doomed, collector_app) as load:
        assert wait_until(lambda: len(load.files) >= 3 or load.failures, timeout=60), \
            load.failures
        began = time.monotonic()
        backup = start_process(["backup", str(archive)], app_env(database_url, **settings),
                               tmp_path / "backup.log")
        processes.append(backup)
        # Delete (and collect) from the moment the backup starts writing its archive
        # (its folder beside PATH appears): between its snapshot and its copy of the files.
        assert wait_until(lambda: any(tmp_path.glob(".portal.tar.*"))
                          or backup.poll() is not None, timeout=120)
        load.deleting.set()
        backup.wait(300)
        ended = time.monotonic()
        assert wait_until(lambda: sum(acked > ended for _, acked in load.files.values()) >= 3
                          or load.failures, timeout=60), load.failures
    assert load.failures == [], (load.failures[:5], (tmp_path / "web.log").read_text()[-3000:])
    output = (tmp_path / "backup.log").read_text()
    assert backup.returncode == 0 and "Warning" not in output, output
    assert any(began < acked < ended for acked in load.deleted.values()), \
        "attachments were deleted while the backup ran"
    assert load.collected > 0, "the collector removed their files"

    restored, restored_blobs = new_database(), tmp_path / "restored-blobs"
    done = run(["restore", str(archive)],
               app_env(restored, ATTACHMENT_STORAGE="filesystem",
                       ATTACHMENTS_DIR=str(restored_blobs)))
    assert done.returncode == 0, done.stderr
    # Every file the restored rows name is there, whole, also of attachments deleted
    # (and collected) after the snapshot.
    store = FilesystemStore(restored_blobs)
    for sha256 in named_blobs(restored):
        with store.open(sha256) as blob:
            assert sha256_of(blob.read()) == sha256
    incidents, files = ids_in(restored, Incident.id), ids_in(restored, Attachment.id)
    # One moment: what was acknowledged before the backup began is in it, what was
    # acknowledged after it ended is not.
    assert {i for i, acked in load.incidents.items() if acked < began} <= incidents
    assert {i for i, acked in load.incidents.items() if acked > ended}.isdisjoint(incidents)
    assert {i for i, (_, acked) in load.files.items() if acked < began} <= files
    assert {i for i, (_, acked) in load.files.items() if acked > ended}.isdisjoint(files)
    assert {i for i, acked in load.deleted.items() if acked < began}.isdisjoint(files)
    with connected(restored) as connection:
        kept = dict(connection.execute(select(Attachment.id, Attachment.sha256).where(
            Attachment.id.in_(load.files))).all())
    for attachment_id, sha256 in kept.items():
        with store.open(sha256) as blob:
            assert blob.read() == load.files[attachment_id][0]


def log_in(session: requests.Session, base: str, user) -> None:
    page = session.get(f"{base}/login", timeout=30)
    response = session.post(f"{base}/login", allow_redirects=False, timeout=30, data={
        "email": user.email, "password": PASSWORD, "csrf_token": csrf_token_from(page.text)})
    assert response.status_code == 302, response.text[:500]


@pytest.mark.parametrize("kind", ["filesystem", "database"])
def test_a_restored_database_is_its_source_and_the_portal_serves_it(
        kind, database_url, new_database, storage, tmp_path):
    settings = storage(kind, tmp_path / "blobs")
    admin, technician = make_user("admin"), make_user("technician")
    reporter = make_user("reporter")
    incident = make_incident(reporter=reporter, admin=admin, technician=technician,
                             status=Status.in_progress, title="VPN drops every hour")
    lifecycle.comment(incident, actor=technician, body="Looking at the tunnel logs")
    lifecycle.comment(incident, actor=technician, body="Rekeying", internal=True)
    db.session.commit()
    photo = png(64, 48)
    screenshot = attach(incident, reporter, "screen.png", photo)
    attach(incident, technician, "tunnel.log", b"rekey failed\n", internal=True)
    make_incident(reporter=reporter, admin=admin, technician=technician, status=Status.closed,
                  title="Old printer")
    run_previews()  # the worker's job makes the screenshot's preview after the upload
    archive = tmp_path / "portal.tar"
    made = run(["backup", str(archive)], app_env(database_url, **settings))
    assert made.returncode == 0, made.stderr

    restored = new_database()
    restored_settings = {"ATTACHMENT_STORAGE": kind,
                         "ATTACHMENTS_DIR": str(tmp_path / "restored-blobs")}
    done = run(["restore", str(archive)], app_env(restored, **restored_settings))
    assert done.returncode == 0, done.stderr
    assert "Restored " in done.stdout and "Database is up to date." in done.stdout

    source_rows = every_row(database_url)
    assert every_row(restored) == source_rows
    named = named_blobs(database_url)
    assert named == named_blobs(restored) and len(named) == 3  # two files, one preview
    if kind == "filesystem":
        source, copy = FilesystemStore(tmp_path / "blobs"), FilesystemStore(
            tmp_path / "restored-blobs")
        for sha256 in named:
            with source.open(sha256) as original, copy.open(sha256) as restored_blob:
                assert restored_blob.read() == original.read()
    # (in the database backend the blobs are rows of attachment_blobs, compared above)

    newest = db.session.scalar(select(func.max(Incident.id)))
    with gunicorn(restored, extra_env=restored_settings,
                  log_path=tmp_path / "restored-web.log") as base:
        session = requests.Session()
        log_in(session, base, reporter)
        page = session.get(f"{base}/incidents/{incident.id}", timeout=30)
        assert page.status_code == 200 and "VPN drops every hour" in page.text
        assert "Looking at the tunnel logs" in page.text and "Rekeying" not in page.text
        download = session.get(f"{base}/attachments/{screenshot.id}", timeout=30)
        assert download.status_code == 200 and download.content == photo
        created = requests.post(f"{base}/api/v1/incidents", headers=token_for(base, reporter),
                                json={"title": "After the restore", "description": "new"},
                                timeout=30)
        assert created.status_code == 201, created.text
        assert created.json()["id"] > newest, "the id sequence came back with the rows"


def schema_of(url: str) -> str:
    with connected(url) as connection:
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def test_an_archive_of_an_older_schema_is_upgraded_on_restore(make_app, new_database,
                                                              tmp_path):
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    source_url = new_database()
    settings = {"ATTACHMENT_STORAGE": "filesystem", "ATTACHMENTS_DIR": str(tmp_path / "blobs")}
    with make_app(SQLALCHEMY_DATABASE_URI=sqlalchemy_url(source_url),
                  **settings).app_context():
        upgrade()
        ensure_roles()
        make_user("reporter", username="kept-across-the-upgrade")
        downgrade(revision="-1")
        db.session.remove()
    older = schema_of(source_url)
    assert older != head
    archive = tmp_path / "older.tar"
    made = run(["backup", str(archive)], app_env(source_url, **settings))
    assert made.returncode == 0, made.stderr
    assert f"(schema {older}," in made.stdout

    restored = new_database()
    done = run(["restore", str(archive)], app_env(restored, **settings))
    assert done.returncode == 0, done.stderr
    assert schema_of(restored) == head
    with connected(restored) as connection:
        assert connection.exec_driver_sql(
            "SELECT username FROM users").scalars().all() == ["kept-across-the-upgrade"]
