"""indexes for the lists: filter + newest first, priority sorts, roles_users

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 04:05:00

Measured with bench/ on 100,000 incidents (see bench/results/):

- each filterable column leads a composite index with created_at, so a filtered list
  reads its page in order from the index instead of sorting every match;
- status + priority (the everyday triage filter) has its own;
- sort=priority gets the (priority_rank, id DESC) index it needs;
- the dashboard's figures on active incidents (overdue, load per technician) are read
  from (status, due_at, technician_id) alone, its 30-day figure through resolved_at;
- roles_users, joined on every request that loads the caller, gets its first index.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

#: (old single-column index, new composite index, its columns)
REPLACED = [
    ("ix_incidents_status", "ix_incidents_status_created", ["status", "created_at"]),
    ("ix_incidents_category", "ix_incidents_category_created", ["category", "created_at"]),
    ("ix_incidents_reporter_id", "ix_incidents_reporter_created", ["reporter_id", "created_at"]),
    ("ix_incidents_technician_id", "ix_incidents_technician_created",
     ["technician_id", "created_at"]),
    ("ix_incidents_priority_rank", "ix_incidents_priority_rank_id", ["priority_rank", "id"]),
]


def upgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        for old, new, columns in REPLACED:
            batch_op.drop_index(old)
            batch_op.create_index(new, columns, unique=False)
        batch_op.create_index('ix_incidents_priority_created', ['priority', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_incidents_status_priority_created',
                              ['status', 'priority', 'created_at'], unique=False)
        batch_op.create_index('ix_incidents_status_due_technician',
                              ['status', 'due_at', 'technician_id'], unique=False)
        batch_op.create_index('ix_incidents_priority_rank_id_desc',
                              ['priority_rank', sa.text('id DESC')], unique=False)
        batch_op.create_index('ix_incidents_resolved_at', ['resolved_at'], unique=False)
    with op.batch_alter_table('roles_users', schema=None) as batch_op:
        batch_op.create_index('ix_roles_users_user_id', ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('roles_users', schema=None) as batch_op:
        batch_op.drop_index('ix_roles_users_user_id')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_resolved_at')
        batch_op.drop_index('ix_incidents_priority_rank_id_desc')
        batch_op.drop_index('ix_incidents_status_due_technician')
        batch_op.drop_index('ix_incidents_status_priority_created')
        batch_op.drop_index('ix_incidents_priority_created')
        for old, new, columns in reversed(REPLACED):
            batch_op.drop_index(new)
            batch_op.create_index(old, columns[:1], unique=False)
