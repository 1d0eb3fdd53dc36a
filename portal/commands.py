"""The command line (``python manage.py ...``): init-db, seed, create-user, worker,
deliver-mail, ingest-mail, sla-check, backup, restore, gc-attachments.

Every failure a user can cause ends in one line on stderr and a non-zero exit
(``click.ClickException``), never a traceback.
"""
from __future__ import annotations

import contextlib
import logging
import sys
import fcntl
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from portal.attachments.service import collect_garbage
from portal.auth.accounts import AccountError, create_account
from portal.auth.roles import ROLE_NAMES
from portal.auth.security import ensure_roles
from portal.backup.create import create_backup
from portal.backup.errors import BackupError
from portal.backup.restore import restore_backup
from portal.db_errors import UNAVAILABLE
from portal.extensions import db
from portal.incidents.models import Incident
from portal.mailin.pipeline import ingest
from portal.notifications.deliver import deliver_due, delivery_enabled
from portal.seed import FIXTURES_DIR, FixtureError, load_fixtures
from portal.settings.database import sqlite_folder_missing
from portal.sla.escalation import check
from portal.worker import JOBS, Worker, enabled_jobs


#: The advisory lock (PostgreSQL) that serialises concurrent ``init-db`` runs.
SCHEMA_LOCK_KEY = 0x1DC1DE17


@contextlib.contextmanager
def schema_lock():
    """Hold the schema lock: a second ``init-db`` waits here, then finds the schema current.
    PostgreSQL: a session advisory lock; SQLite: a lock file beside the database."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"),
                                   {"key": SCHEMA_LOCK_KEY})
                connection.commit()
        return
    path = engine.url.database
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.init-db.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _no_statement_timeout(dbapi_connection, _record) -> None:
    """Migrations may build large indexes: no statement timeout for them."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    dbapi_connection.commit()  # a SET inside a rolled-back transaction would be undone


def first_line(exc: BaseException) -> str:
    text_ = str(getattr(exc, "orig", None) or exc).strip()
    return text_.splitlines()[0] if text_ else type(exc).__name__


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the database schema, or upgrade it to the latest migration.

    Safe to run from several containers at once: runs are serialised by a lock, and the
    later ones find the schema current."""
    if db.engine.dialect.name == "postgresql":
        event.listen(db.engine, "connect", _no_statement_timeout)
    try:
        with schema_lock():
            upgrade()
            ensure_roles()
            db.session.commit()
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {first_line(exc)}") from None
    except DBAPIError as exc:
        raise click.ClickException(f"the database refused the schema: {first_line(exc)}") \
            from None
    click.echo("Database is up to date.")


@click.command("seed")
@click.option("--fixtures", "directory", type=click.Path(path_type=Path),
              default=FIXTURES_DIR, show_default=True, help="Folder with the fixture files.")
@click.option("--if-empty", is_flag=True, help="Load only when there are no incidents yet.")
@with_appcontext
def seed(directory: Path, if_empty: bool) -> None:
    """Load the demo users and incidents (running it twice changes nothing)."""
    if if_empty and db.session.scalar(select(func.count(Incident.id))):
        click.echo("Database already has incidents: demo data not loaded.")
        return
    try:
        result = load_fixtures(directory)
        db.session.commit()
    except FixtureError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Seeded {result.users_added} users and {result.incidents_added} incidents.")


@click.command("create-user")
@click.argument("email")
@click.option("--username", required=True, help="Name shown in the portal.")
@click.option("--role", required=True, type=click.Choice(ROLE_NAMES), help="The user's role.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given.")
@with_appcontext
def create_user(email: str, username: str, role: str, password: str) -> None:
    """Create an active user with one role."""
    try:
        user = create_account(email=email, username=username, password=password, roles=[role])
        db.session.commit()
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"Created {role} {user.username} <{user.email}>.")


@click.command("worker")
@click.option("--job", "names", multiple=True, help="Run only this job (repeatable).")
@with_appcontext
def worker(names: tuple[str, ...]) -> None:
    """Run the background jobs (mail delivery, and whatever else registers) until stopped."""
    unknown = [name for name in names if name not in JOBS]
    if unknown:
        raise click.ClickException(f"no job named {unknown[0]!r}: jobs are "
                                   f"{', '.join(sorted(JOBS))}")
    jobs = enabled_jobs(current_app, list(names))
    if not jobs:
        # Not an error: a compose worker must not crash-loop because mail is not set up.
        click.echo("No job to run yet (mail delivery needs MAIL_SERVER, inbox polling MAIL_INBOX_URL): waiting until "
                   "stopped.", err=True)
    Worker(current_app._get_current_object(), jobs).run()


@click.command("deliver-mail")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@with_appcontext
def deliver_mail(once: bool) -> None:
    """Deliver the mail outbox (the worker's mail job alone)."""
    if not delivery_enabled(current_app):
        raise click.ClickException("MAIL_SERVER is not set: there is nowhere to deliver to")
    if once:
        click.echo(f"Sent {deliver_due()} messages.")
        return
    Worker(current_app._get_current_object(), [JOBS["mail"]]).run()


#: sysexits.h EX_TEMPFAIL: the mail server keeps the message and tries again later.
EX_TEMPFAIL = 75
#: sysexits.h EX_CONFIG: the settings are wrong; trying again cannot help.
EX_CONFIG = 78


@click.command("ingest-mail")
@with_appcontext
def ingest_mail() -> None:
    """Take one RFC 5322 message on standard input (a mail server's pipe alias).

    Exit 0 when it was handled, quarantined or ignored included; 75 (EX_TEMPFAIL) when it
    could not be stored, so the mail server keeps it and tries again; 78 (EX_CONFIG) when
    the database setting cannot work (a SQLite file in a folder that does not exist)."""
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise click.ClickException("no message on standard input")
    try:
        outcome = ingest(raw)
    except UNAVAILABLE as exc:
        db.session.rollback()
        misconfigured = sqlite_folder_missing(db.engine.url)
        if misconfigured:
            click.echo(f"Error: {misconfigured}", err=True)
            raise SystemExit(EX_CONFIG) from None
        click.echo(f"Error: cannot reach the database, try again later: {first_line(exc)}",
                   err=True)
        raise SystemExit(EX_TEMPFAIL) from None
    except Exception as exc:  # noqa: BLE001 - never a traceback; the mail server retries
        db.session.rollback()
        logging.getLogger(__name__).exception("ingest-mail failed")
        click.echo(f"Error: the message could not be stored ({type(exc).__name__}); "
                   "the mail server will try again", err=True)
        raise SystemExit(EX_TEMPFAIL) from None
    click.echo(f"Message {outcome.inbound_id}: {outcome.describe()}.")


@click.command("sla-check")
@click.option("--once", is_flag=True, help="Check the clocks due now, then exit (for cron).")
@with_appcontext
def sla_check(once: bool) -> None:
    """Announce SLA warnings and breaches (the worker's sla job alone)."""
    if once:
        click.echo(f"Announced {check()} SLA warnings and breaches.")
        return
    Worker(current_app._get_current_object(), [JOBS["sla"]]).run()


def _refusal(exc: BackupError) -> click.ClickException:
    """One line on stderr and the refusal's sysexits code."""
    refusal = click.ClickException(exc.message)
    refusal.exit_code = exc.exit_code
    return refusal


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(path: Path) -> None:
    """Write one archive to PATH (a new file): a consistent snapshot of the database, the
    attachment files it names and a manifest; safe while the app serves writes."""
    try:
        made = create_backup(path)
    except BackupError as exc:
        raise _refusal(exc) from None
    for warning in made.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(made.describe())


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
@with_appcontext
@click.pass_context
def restore(ctx: click.Context, path: Path, force: bool) -> None:
    """Restore the archive at PATH into this portal's database and attachment store, then
    upgrade its schema. Stop the web server and the worker first."""
    try:
        restored = restore_backup(path, force=force)
    except BackupError as exc:
        raise _refusal(exc) from None
    click.echo(restored.describe())
    ctx.invoke(init_db)


@click.command("gc-attachments")
@click.option("--grace", type=click.IntRange(min=0), default=None,
              help="Leave blobs younger than this many seconds "
                   "(default: ATTACHMENT_GC_GRACE_SECONDS).")
@with_appcontext
def gc_attachments(grace: int | None) -> None:
    """Remove attachment blobs that no attachment references any more."""
    removed = collect_garbage(None if grace is None else timedelta(seconds=grace))
    click.echo(f"Removed {removed} unreferenced attachment blob"
               f"{'' if removed == 1 else 's'}.")


commands = [init_db, seed, create_user, worker, deliver_mail, ingest_mail, sla_check, backup,
            restore, gc_attachments]
