"""webhook endpoints get a circuit breaker; deliveries are claimed per endpoint, in each incident's order; claims are found by their token

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 10:00:00

- ``webhook_endpoints.consecutive_failures`` and ``breaker_open_until``: after
  ``WEBHOOK_BREAKER_FAILURES`` failed attempts in a row no worker tries the endpoint until
  then, nor reads its backlog (``portal.webhooks.breaker``).
- ``ix_webhook_deliveries_endpoint_due``: a round claims each endpoint's due deliveries on
  their own, so one endpoint's backlog is not read to find another's;
  ``ix_webhook_deliveries_incident_order``: a delivery waits while an earlier one of its
  incident and endpoint is pending, looked up here.
- ``ix_mail_outbox_claimed_by``, ``ix_webhook_deliveries_claimed_by``: the heartbeat and the
  release of dead deliverers' claims (now before every batch) find the few claimed rows
  without reading every row ever sent.
"""
from alembic import op
import sqlalchemy as sa

import portal.db_types


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consecutive_failures', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('breaker_open_until',
                                      portal.db_types.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_endpoint_due',
                              ['endpoint_id', 'status', 'next_attempt_at'])
        batch_op.create_index('ix_webhook_deliveries_incident_order',
                              ['endpoint_id', 'incident_id', 'status', 'id'])
        batch_op.create_index('ix_webhook_deliveries_claimed_by', ['claimed_by'])
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_mail_outbox_claimed_by', ['claimed_by'])


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_outbox_claimed_by')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_claimed_by')
        batch_op.drop_index('ix_webhook_deliveries_incident_order')
        batch_op.drop_index('ix_webhook_deliveries_endpoint_due')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('breaker_open_until')
        batch_op.drop_column('consecutive_failures')
