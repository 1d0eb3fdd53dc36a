"""Flask extensions, created unbound here and bound to an app in the factory.

Extensions that hold a single app for life (Flask-Security, Flask-Admin, smorest's ``Api``)
are not here: the factory builds them per app, because the test suite creates many apps.
"""
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Explicit constraint names (CHECKs of enum columns are named where they are declared): PostgreSQL wants them unique per schema, and Alembic needs
# names to alter constraints later (SQLite batch mode included).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every model (SQLAlchemy 2.x typed style)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
mail = Mail()
csrf = CSRFProtect()
