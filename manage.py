"""The command line: ``python manage.py --help`` lists every command."""
import click
from flask.cli import FlaskGroup

from portal import create_app
from portal.config import ConfigError


def make_app():
    """Build the app; a configuration problem is one line and exit 1, not a traceback."""
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


cli = FlaskGroup(create_app=make_app, help="Incident Portal command line.")

if __name__ == "__main__":
    cli()
