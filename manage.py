"""The command line: ``python manage.py --help`` lists every command."""
from flask.cli import FlaskGroup

from portal import create_app

cli = FlaskGroup(create_app=create_app, help="Incident Portal command line.")

if __name__ == "__main__":
    cli()
