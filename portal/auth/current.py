"""The app's Flask-Security instance, for every module that needs it.

It lives apart from ``portal.auth.security`` (which builds the instance from the mail,
throttling and session modules) so that those modules can read it without importing
back up.
"""
from __future__ import annotations

from flask import Flask, current_app
from flask_security import Security


def security(app: Flask | None = None) -> Security:
    """``app``'s (by default the current app's) ``Security``: its public ``mail_util``,
    ``username_util``, ``password_util``, ``totp_factory``, ``datastore`` and
    ``login_manager``."""
    return (app or current_app).extensions["security"]
