"""The command line (``python manage.py ...``): init-db, seed, create-user.

Every failure a user can cause ends in one line on stderr and a non-zero exit
(``click.ClickException``), never a traceback.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from portal.auth.accounts import ROLE_NAMES, AccountError, create_account
from portal.auth.security import ensure_roles
from portal.extensions import db
from portal.incidents.models import Incident
from portal.seed import FIXTURES_DIR, FixtureError, load_fixtures


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create the database schema, or upgrade it to the latest migration."""
    try:
        upgrade()
        ensure_roles()
        db.session.commit()
    except OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {exc.orig}") from None
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


@click.command("deliver-mail")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@with_appcontext
def deliver_mail(once: bool) -> None:
    """Deliver the mail outbox (a worker process beside the web workers)."""
    import time

    from flask import current_app

    from portal.notifications.deliver import deliver_due, delivery_enabled, next_due_in

    if not delivery_enabled(current_app):
        raise click.ClickException("MAIL_SERVER is not set: there is nowhere to deliver to")
    poll = current_app.config["MAIL_POLL_SECONDS"]
    while True:
        sent = deliver_due()
        if once:
            click.echo(f"Sent {sent} messages.")
            return
        db.session.remove()
        time.sleep(max(1.0, next_due_in(poll)))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(path: Path) -> None:
    """Copy the SQLite database to PATH while the app keeps running (online backup)."""
    import sqlite3

    if db.engine.dialect.name != "sqlite":
        raise click.ClickException("backup copies SQLite databases; for PostgreSQL use "
                                   "pg_dump")
    source_path = db.engine.url.database
    if not source_path or source_path == ":memory:":
        raise click.ClickException("the database is in memory: there is no file to back up")
    if path.exists():
        raise click.ClickException(f"{path} already exists: choose a new file name")
    if not path.parent.is_dir():
        raise click.ClickException(f"{path.parent} is not a folder")
    with sqlite3.connect(source_path) as source, sqlite3.connect(path) as target:
        source.backup(target)  # SQLite's online backup API: consistent while in use
    source.close()
    target.close()
    click.echo(f"Backed up {source_path} to {path}.")


commands = [init_db, seed, create_user, deliver_mail, backup]
