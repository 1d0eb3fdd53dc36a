"""The WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""
import sys

from portal import create_app
from portal.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One line naming the setting to fix, not a traceback (the container exits with it).
    sys.exit(f"Error: {exc}")
