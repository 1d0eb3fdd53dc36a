"""idempotent API requests (issue 18): the first answer of a POST with an Idempotency-Key

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 14:15:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db_types  # noqa: F401  (autogenerate writes portal.db_types.UTCDateTime)


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('idempotent_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('location', sa.String(length=2048), nullable=True),
    sa.Column('etag', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotent_requests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_requests')),
    sa.UniqueConstraint('user_id', 'key', name='uq_idempotent_requests_user_key')
    )
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.create_index('ix_idempotent_requests_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('idempotent_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotent_requests_created_at')
    op.drop_table('idempotent_requests')
