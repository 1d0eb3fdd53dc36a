"""trigram indexes for text search on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 05:40:00

Text search (the API's ``q=`` and the grid's search box) is ``ILIKE '%text%'`` over title
and description, which scans every incident. On PostgreSQL a GIN trigram index (pg_trgm)
answers the same ILIKE without a scan: measured with bench/ on 100,000 incidents (see
bench/results/). pg_trgm is a trusted extension from PostgreSQL 13 on, so the database's
owner may create it; where it cannot be created, search keeps scanning, as before.
SQLite keeps its scan (a LIKE over 100,000 rows in tens of milliseconds).
"""
import logging

from alembic import op
import sqlalchemy as sa

from portal.incidents.models import TRIGRAM_INDEXES

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as error:
        log.warning("pg_trgm is not available (%s): text search will scan",
                    str(error.orig).strip().splitlines()[0])
        return
    for name, column in TRIGRAM_INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON incidents "
                   f"USING gin ({column} gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
