"""outbox reliability: a stored Message-ID per message

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:00:00

Delivery is at-least-once, so a resend must carry the same ``Message-ID`` as the first
copy: it is stored with the message. Rows written before this revision get one here.
"""
import uuid

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
    outbox = sa.table('mail_outbox', sa.column('id', sa.Integer),
                      sa.column('message_id', sa.String))
    connection = op.get_bind()
    for (row_id,) in connection.execute(sa.select(outbox.c.id)).all():
        connection.execute(outbox.update().where(outbox.c.id == row_id).values(
            message_id=f"<{uuid.uuid4().hex}@incident-portal.invalid>"))
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.String(length=255),
                              nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_mail_outbox_message_id'),
                                          ['message_id'])


def downgrade():
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_mail_outbox_message_id'), type_='unique')
        batch_op.drop_column('message_id')
