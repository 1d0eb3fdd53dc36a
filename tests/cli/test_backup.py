"""``manage.py backup`` and ``manage.py restore`` at the command line: what each refuses,
with its sysexits code and one line on stderr, leaving the target as it was; what a
restore accepts (a target that only ran init-db, any target with --force, a compressed
archive); a file the store lost is named by the backup, not skipped silently."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from portal.auth.models import User
from portal.auth.security import ensure_roles
from portal.backup.archive import Manifest
from portal.extensions import db
from portal.settings.database import database_url as sqlalchemy_url
from tests.attachments.helpers import attach, png, run_previews
from tests.backups import archive_members, every_row, is_sqlite, rewrite
from tests.factories import make_incident, make_user


@pytest.fixture
def archive(runner, storage, tmp_path):
    """A backup of the suite's database: an incident with a file and an image (whose
    preview is a third blob), attachments in files."""
    storage("filesystem", tmp_path / "source-blobs")
    admin, reporter = make_user("admin"), make_user("reporter", username="source-reporter")
    incident = make_incident(reporter=reporter, admin=admin, title="Printer on fire")
    attach(incident, reporter, "log.txt", b"paper jam at 09:00\n")
    attach(incident, reporter, "photo.png", png(32, 32))
    run_previews()  # the worker's job makes the preview after the upload
    path = tmp_path / "portal.tar"
    made = runner.invoke(args=["backup", str(path)])
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("Backed up the ") and "3 attachment files" in made.stdout
    return path


@pytest.fixture
def target(make_app, new_database, tmp_path):
    """An app on a fresh database (the engine of this pass) with its own blob folder."""
    def build(**config):
        url = new_database()
        app = make_app(SQLALCHEMY_DATABASE_URI=sqlalchemy_url(url),
                       ATTACHMENTS_DIR=str(tmp_path / "target-blobs"), **config)
        return app, url
    return build


def manifest_of(path: Path) -> Manifest:
    import tarfile
    with tarfile.open(path) as tar:
        return Manifest.from_json(tar.extractfile("manifest.json").read())


def first_blob(path: Path) -> str:
    return next(name for name in archive_members(path) if name.startswith("blobs/"))


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def member(path: Path, name: str) -> bytes:
    import tarfile
    with tarfile.open(path) as tar:
        return tar.extractfile(name).read()


def cut_in_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])


#: Each engine's other engine and that one's database part.
OTHER = {"sqlite": ("postgresql", "database.pgdump"), "postgresql": ("sqlite", "database.sqlite")}

# (what is done to the archive, what the target is, exit code, words of the one line)
RESTORE_REFUSALS = {
    "made by a newer schema": (
        lambda p: rewrite(p, manifest=lambda m: m.update(schema_revision=["0999"])),
        None, os.EX_DATAERR, "schema is at revision 0999, which this code does not know"),
    "a file altered": (
        lambda p: rewrite(p, replace={first_blob(p): b"not what was attached"}),
        None, os.EX_DATAERR, "is damaged or altered (sha256"),
    "the database altered": (
        lambda p: rewrite(p, replace={manifest_of(p).database_part: flip_last_byte(
            member(p, manifest_of(p).database_part))}),
        None, os.EX_DATAERR, "is damaged or altered (sha256"),
    "a file missing": (
        lambda p: rewrite(p, drop=first_blob(p)),
        None, os.EX_DATAERR, "is incomplete: blobs/"),
    "the manifest missing": (
        lambda p: rewrite(p, drop="manifest.json"),
        None, os.EX_DATAERR, "has no manifest.json: an incomplete archive"),
    "a part the manifest does not list": (
        lambda p: rewrite(p, add={"notes.txt": b"slipped in"}),
        None, os.EX_DATAERR, "holds notes.txt, which its manifest does not list"),
    "cut short": (cut_in_half, None, os.EX_DATAERR, "incomplete"),
    "not an archive": (
        lambda p: p.write_bytes(b"just some text\n" * 100),
        None, os.EX_DATAERR, "is not a backup archive"),
    "no such file": (lambda p: p.unlink(), None, os.EX_NOINPUT, "no such file"),
    "from the other engine": (
        lambda p: rewrite(p, rename=(manifest_of(p).database_part, OTHER[manifest_of(p).engine][1]),
                          manifest=lambda m: m.update(engine=OTHER[m["engine"]][0])),
        None, os.EX_CONFIG, "restoring across engines is not supported"),
    "another storage backend": (
        None, "database storage", os.EX_CONFIG,
        "made with ATTACHMENT_STORAGE=filesystem and this portal has "
        "ATTACHMENT_STORAGE=database"),
    "a target holding data, without --force": (
        None, "holds data", os.EX_CANTCREAT,
        "the target database holds data (rows in access_events (2), roles_users (1), "
        "users (1)): a restore replaces everything in it; pass --force to do that"),
    "PostgreSQL without pg_restore on PATH": (
        None, "no pg_restore", os.EX_UNAVAILABLE, "pg_restore is not on PATH"),
}


@pytest.mark.parametrize("case", RESTORE_REFUSALS)
def test_restore_refuses(case, archive, target, database_url, monkeypatch, tmp_path):
    change, setup, code, words = RESTORE_REFUSALS[case]
    if setup == "no pg_restore":
        if is_sqlite(database_url):
            pytest.skip("SQLite restores need no program")
        monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    if change:
        change(archive)
    app, url = target(**({"ATTACHMENT_STORAGE": "database"}
                         if setup == "database storage" else {}))
    with app.app_context():
        if setup == "holds data":
            upgrade()
            ensure_roles()
            make_user("reporter", username="target-user")
        before = every_row(url)
        result = app.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code == code, result.output
        assert result.stderr.startswith("Error: ") and words in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert every_row(url) == before
    assert not (tmp_path / "target-blobs").exists() or not any(
        (tmp_path / "target-blobs").glob("*/*/*")), "no file was written"


def test_a_target_that_only_ran_init_db_takes_the_archive(archive, target):
    app, url = target()
    with app.app_context():
        upgrade()
        ensure_roles()
        db.session.commit()
        result = app.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        assert "Restored " in result.stdout and "Database is up to date." in result.stdout
        assert db.session.scalar(select(User.username).where(
            User.username == "source-reporter")) == "source-reporter"


def test_force_replaces_a_target_that_holds_data(archive, target):
    app, url = target()
    with app.app_context():
        upgrade()
        ensure_roles()
        make_user("reporter", username="target-user")
        result = app.test_cli_runner().invoke(args=["restore", "--force", str(archive)])
        assert result.exit_code == 0, result.output
        names = set(db.session.scalars(select(User.username)))
        assert "source-reporter" in names and "target-user" not in names


@pytest.mark.parametrize("case", ["exists", "no folder", "in memory", "no schema",
                                  "no pg_dump"])
def test_backup_refuses(case, app, make_app, new_database, database_url, monkeypatch,
                        tmp_path):
    path, source = tmp_path / "portal.tar", app
    code, words = {
        "exists": (os.EX_CANTCREAT, "already exists: choose a new file name"),
        "no folder": (os.EX_CANTCREAT, "is not a folder"),
        "in memory": (os.EX_CONFIG, "the database is in memory"),
        "no schema": (os.EX_NOINPUT, "no such database file" if is_sqlite(database_url)
                      else "the database has no schema (run python manage.py init-db)"),
        "no pg_dump": (os.EX_UNAVAILABLE, "pg_dump is not on PATH"),
    }[case]
    if case == "exists":
        path.write_bytes(b"last night's")
    elif case == "no folder":
        path = tmp_path / "missing" / "portal.tar"
    elif case == "in memory":
        source = make_app(SQLALCHEMY_DATABASE_URI="sqlite://")
    elif case == "no schema":
        source = make_app(SQLALCHEMY_DATABASE_URI=sqlalchemy_url(new_database()))
    elif is_sqlite(database_url):
        pytest.skip("SQLite backups need no program")
    else:
        monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))
    with source.app_context():
        result = source.test_cli_runner().invoke(args=["backup", str(path)])
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("Error: ") and words in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert case == "exists" and path.read_bytes() == b"last night's" or not path.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".portal.tar")] == []


def test_a_compressed_archive_restores(archive, target):
    import gzip
    packed = archive.with_suffix(".tar.gz")
    packed.write_bytes(gzip.compress(archive.read_bytes()))
    app, url = target()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["restore", str(packed)])
        assert result.exit_code == 0, result.output
        assert db.session.scalar(select(User.username).where(
            User.username == "source-reporter")) == "source-reporter"


def test_a_file_the_store_lost_is_named_not_skipped_silently(runner, storage, tmp_path):
    storage("filesystem", tmp_path / "blobs")
    admin, reporter = make_user("admin"), make_user("reporter")
    incident = make_incident(reporter=reporter, admin=admin)
    lost = attach(incident, reporter, "lost.txt", b"gone before the backup\n")
    (tmp_path / "blobs" / lost.sha256[:2] / lost.sha256[2:4] / lost.sha256).unlink()
    result = runner.invoke(args=["backup", str(tmp_path / "portal.tar")])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Warning: 1 attachment file(s) the database names were "
                                    "not in the store") and lost.sha256 in result.stderr
    assert manifest_of(tmp_path / "portal.tar").missing_blobs == [lost.sha256]
