"""attachments: files on incidents and comments, and the database backend's blobs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 13:34:21

``attachments`` rows name their bytes by sha256; ``attachment_blobs`` holds the bytes
when ``ATTACHMENT_STORAGE=database`` (empty otherwise). Deleting an incident or a
comment deletes its attachment rows (ON DELETE CASCADE); blobs stay for gc-attachments.
"""
from alembic import op
import sqlalchemy as sa
import portal.db_types  # noqa: F401  (autogenerate writes portal.db_types.UTCDateTime)


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attachment_blobs',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('touched_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_attachment_blobs'))
    )
    with op.batch_alter_table('attachment_blobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_blobs_touched_at'), ['touched_at'], unique=False)

    op.create_table('attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('uploader_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('preview_sha256', sa.String(length=64), nullable=True),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('created_at', portal.db_types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comments.id'], name=op.f('fk_attachments_comment_id_comments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_attachments_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_attachments_uploader_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_comment_id'), ['comment_id'], unique=False)
        batch_op.create_index('ix_attachments_incident_created', ['incident_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_preview_sha256'), ['preview_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_uploader_id'), ['uploader_id'], unique=False)



def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_uploader_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_sha256'))
        batch_op.drop_index(batch_op.f('ix_attachments_preview_sha256'))
        batch_op.drop_index('ix_attachments_incident_created')
        batch_op.drop_index(batch_op.f('ix_attachments_comment_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('attachment_blobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_blobs_touched_at'))

    op.drop_table('attachment_blobs')
