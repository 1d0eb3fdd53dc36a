"""mail proves its sender: comments flagged "unverified sender", inbound mail records what proved it

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00

Until now mail in trusted ``From:``. A reply whose sender nothing proved may now become a
public comment only flagged ``unverified_sender`` (existing comments were not: false);
each inbound message keeps in words what proved its sender (``sender_proof``; null for
the messages before, which nothing proved).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unverified_sender', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.alter_column('unverified_sender', server_default=None,
                              existing_type=sa.Boolean(), existing_nullable=False)
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_proof', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.drop_column('sender_proof')
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_column('unverified_sender')
