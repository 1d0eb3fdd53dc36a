"""assigned events record their assignee by id: the SLA clock's "took it themselves" compares ids, not names

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 16:00:00

Until now an ``assigned`` event named its technician only in ``changes`` (``{"technician":
[old name, new name]}``) and the clock counted a ``take`` as the first response when that
name was the actor's *current* username: renaming a user changed past clocks. Existing
``assigned`` events get the id of the user their name belongs to now (before anyone is
renamed under the new rule); a name nobody has any more stays without an id.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('incident_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_incident_events_assignee_id_users'),
                                    'users', ['assignee_id'], ['id'])
    fill_assignees()


def fill_assignees():
    """Give every ``assigned`` event the id of the user its ``changes`` name."""
    bind = op.get_bind()
    meta = sa.MetaData()
    events = sa.Table('incident_events', meta, autoload_with=bind)
    users = sa.Table('users', meta, autoload_with=bind)
    by_name = {row.username: row.id
               for row in bind.execute(sa.select(users.c.id, users.c.username))}
    rows = bind.execute(sa.select(events.c.id, events.c.changes)
                        .where(events.c.kind == 'assigned')).all()
    found = [{'event_id': row.id, 'user_id': by_name[name]} for row in rows
             if (name := ((row.changes or {}).get('technician') or [None, None])[1]) in by_name]
    if found:
        bind.execute(events.update().where(events.c.id == sa.bindparam('event_id'))
                     .values(assignee_id=sa.bindparam('user_id')), found)


def downgrade():
    with op.batch_alter_table('incident_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incident_events_assignee_id_users'),
                                 type_='foreignkey')
        batch_op.drop_column('assignee_id')
