"""Flask extensions, created unbound here and bound to an app in the factory.

Extensions that hold a single app for life (Flask-Security, Flask-Admin, smorest's ``Api``)
are not here: the factory builds them per app, because the test suite creates many apps.
"""
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by every model (SQLAlchemy 2.x typed style)."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
