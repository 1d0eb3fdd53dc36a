"""existing users are confirmed: registration now needs a confirmed address (issue 28, finding 2)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 22:00:00

Flask-Security's ``SECURITY_CONFIRMABLE`` is now on: an account whose ``confirmed_at``
is NULL cannot log in, and mail in does not take it for its address's owner. Every user
already in the database was made before that rule (by an admin, by mail in, or by a
registration that was trusted then), so each is marked confirmed as of when it was made,
and keeps logging in. The downgrade leaves the dates: a schema without the rule never
reads them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    users = sa.Table('users', sa.MetaData(), autoload_with=op.get_bind())
    op.execute(users.update().where(users.c.confirmed_at.is_(None))
               .values(confirmed_at=users.c.create_datetime))


def downgrade():
    pass
