"""event kinds for attachments and the SLA clock

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 13:30:00

``incident_events.kind`` is a CHECK-constrained column: a new ``EventKind`` member needs
the constraint rebuilt. SQLite cannot alter a constraint, so the table is rebuilt there
(batch mode); PostgreSQL drops and recreates the named constraint.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

OLD = ('created', 'updated', 'assigned', 'unassigned', 'started', 'held', 'resumed',
       'resolved', 'reopened', 'closed', 'deleted')
NEW = OLD + ('attachment_added', 'attachment_deleted', 'sla_warning', 'sla_breached')
NAME = 'ck_incident_events_kind'


def kind_type(values):
    return sa.Enum(*values, name=NAME, native_enum=False, create_constraint=True, length=20)


def rebuild(old, new):
    if op.get_bind().dialect.name == 'sqlite':
        # The old constraint is not reflected on SQLite; naming the column's old type
        # here lets the batch rebuild drop it and write the new one.
        old_column = sa.Column('kind', kind_type(old), nullable=False)
        with op.batch_alter_table('incident_events', recreate='always',
                                  reflect_args=[old_column]) as batch_op:
            batch_op.alter_column('kind', existing_type=kind_type(old), type_=kind_type(new),
                                  existing_nullable=False)
    else:
        op.drop_constraint(NAME, 'incident_events', type_='check')
        op.create_check_constraint(NAME, 'incident_events', sa.column('kind').in_(new))


def upgrade():
    rebuild(OLD, NEW)


def downgrade():
    op.execute(sa.text('DELETE FROM incident_events WHERE kind IN :kinds').bindparams(
        sa.bindparam('kinds', NEW[len(OLD):], expanding=True)))
    rebuild(NEW, OLD)
