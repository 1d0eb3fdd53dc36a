"""the SLA clock: stored results on incidents, holidays, alerts sent once

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:00:00

Existing incidents get their clock from their history (the same ``compute`` the app
runs, fed from plain rows rather than today's models, so later model changes cannot
break this step).
"""
from datetime import datetime
from types import SimpleNamespace

from alembic import op
import sqlalchemy as sa
from flask import current_app

from portal.db_types import UTCDateTime, utcnow

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

SLA_STATES = ('ok', 'warning', 'breached', 'paused', 'met')


def upgrade():
    op.create_table(
        'sla_holidays',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_holidays')),
        sa.UniqueConstraint('day', name=op.f('uq_sla_holidays_day')),
    )
    op.create_table(
        'sla_alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('target', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'],
                                name=op.f('fk_sla_alerts_incident_id_incidents'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_alerts')),
        sa.UniqueConstraint('incident_id', 'target', 'kind',
                            name='uq_sla_alerts_incident_target_kind'),
    )
    with op.batch_alter_table('incidents') as batch_op:
        batch_op.add_column(sa.Column('first_response_due_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_responded_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('sla_paused_seconds', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column(
            'sla_state', sa.Enum(*SLA_STATES, name='ck_incidents_sla_state', native_enum=False,
                                 create_constraint=True, length=20),
            nullable=False, server_default='ok'))
        batch_op.add_column(sa.Column('sla_next_check_at', UTCDateTime(), nullable=True))
        batch_op.create_index('ix_incidents_first_response_due_at', ['first_response_due_at'])
        batch_op.create_index('ix_incidents_sla_next_check_at', ['sla_next_check_at'])
        batch_op.create_index('ix_incidents_sla_state_created', ['sla_state', 'created_at'])
    fill_from_history()
    # The models give these no server default; the app always writes them.
    with op.batch_alter_table('incidents') as batch_op:
        batch_op.alter_column('sla_paused_seconds', server_default=None,
                              existing_type=sa.Integer(), existing_nullable=False)
        batch_op.alter_column('sla_state', server_default=None,
                              existing_type=sa.String(length=20), existing_nullable=False)


def fill_from_history():
    """Compute every incident's clock from its events and comments, as the app would."""
    from portal.incidents.enums import EventKind, Priority, Status
    from portal.sla.clock import compute, steps_of, stored_values
    from portal.sla.policy import build

    bind = op.get_bind()
    meta = sa.MetaData()
    incidents = sa.Table('incidents', meta, autoload_with=bind)
    events = sa.Table('incident_events', meta, autoload_with=bind)
    comments = sa.Table('comments', meta, autoload_with=bind)
    users = sa.Table('users', meta, autoload_with=bind)
    roles = sa.Table('roles', meta, autoload_with=bind)
    roles_users = sa.Table('roles_users', meta, autoload_with=bind)
    staff = {row.user_id for row in bind.execute(
        sa.select(roles_users.c.user_id).join(roles, roles.c.id == roles_users.c.role_id)
        .where(roles.c.name.in_(('admin', 'technician'))))}
    people = {row.id: SimpleNamespace(id=row.id, username=row.username,
                                      is_staff=row.id in staff)
              for row in bind.execute(sa.select(users.c.id, users.c.username))}
    by_name = {person.username: person.id for person in people.values()}
    policy = build(current_app.config)
    now = utcnow()
    datetime_type = UTCDateTime()
    dialect = bind.dialect

    def moment(value):
        return datetime_type.process_result_value(value, dialect)

    for row in bind.execute(sa.select(incidents.c.id, incidents.c.priority,
                                      incidents.c.reporter_id, incidents.c.created_at)).all():
        incident = SimpleNamespace(id=row.id, reporter_id=row.reporter_id,
                                   priority=Priority(row.priority))
        # Events named the assignee then (0018 records their id): read the name as an id.
        history = [SimpleNamespace(kind=EventKind(e.kind), changes=e.changes or {},
                                   actor=people.get(e.actor_id), created_at=moment(e.created_at),
                                   to_status=Status(e.to_status) if e.to_status else None,
                                   assignee_id=by_name.get(
                                       (e.changes or {}).get('technician', [None, None])[1]))
                   for e in bind.execute(sa.select(events).where(events.c.incident_id == row.id)
                                         .order_by(events.c.created_at, events.c.id))]
        remarks = [SimpleNamespace(internal=c.internal, author=people.get(c.author_id),
                                   created_at=moment(c.created_at))
                   for c in bind.execute(sa.select(comments).where(
                       comments.c.incident_id == row.id))]
        priority, steps = steps_of(incident, history, remarks)
        clock = compute(created_at=moment(row.created_at), priority=priority, steps=steps,
                        policy=policy, now=now)
        values = {name: datetime_type.process_bind_param(value, dialect)
                  if isinstance(value, datetime) else value
                  for name, value in stored_values(clock).items()}
        values['sla_state'] = values['sla_state'].value
        bind.execute(incidents.update().where(incidents.c.id == row.id).values(**values))


def downgrade():
    with op.batch_alter_table('incidents') as batch_op:
        batch_op.drop_index('ix_incidents_sla_state_created')
        batch_op.drop_index('ix_incidents_sla_next_check_at')
        batch_op.drop_index('ix_incidents_first_response_due_at')
        batch_op.drop_column('sla_next_check_at')
        batch_op.drop_column('sla_state')
        batch_op.drop_column('sla_paused_seconds')
        batch_op.drop_column('first_responded_at')
        batch_op.drop_column('first_response_due_at')
    op.drop_table('sla_alerts')
    op.drop_table('sla_holidays')
