"""inbound mail: every message that came in, raw, with what became of it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:00:00

"""
from alembic import op
import sqlalchemy as sa

import portal.db_types  # noqa: F401  (the UTCDateTime columns)


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('inbound_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('action', sa.String(length=12), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('received_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_inbound_mail_incident_id_incidents'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_mail')),
    sa.UniqueConstraint('message_id', name=op.f('uq_inbound_mail_message_id'))
    )
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_mail_sender_action_received', ['sender', 'action', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_mail_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_mail_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbound_mail_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbound_mail_status'))
        batch_op.drop_index(batch_op.f('ix_inbound_mail_received_at'))
        batch_op.drop_index(batch_op.f('ix_inbound_mail_incident_id'))
        batch_op.drop_index('ix_inbound_mail_sender_action_received')
    op.drop_table('inbound_mail')
