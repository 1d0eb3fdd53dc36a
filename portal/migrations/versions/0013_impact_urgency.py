"""impact and urgency on incidents (issue 17: the ITIL priority matrix)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 15:00:00

Both nullable: existing incidents were reported without them, and the priority they have
stands as it is.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

LEVELS = ('low', 'medium', 'high')


def upgrade():
    with op.batch_alter_table('incidents') as batch_op:
        for column in ('impact', 'urgency'):
            batch_op.add_column(sa.Column(
                column, sa.Enum(*LEVELS, name=f'ck_incidents_{column}', native_enum=False,
                                create_constraint=True, length=20),
                nullable=True))


def downgrade():
    with op.batch_alter_table('incidents') as batch_op:
        batch_op.drop_column('urgency')
        batch_op.drop_column('impact')
