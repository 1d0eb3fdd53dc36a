"""attachments say where their preview stands: previews are made by the worker now (issue 28, finding 3)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 23:00:00

Previews used to be made inside the upload request, which a small decompression bomb
could make take hundreds of megabytes. The worker makes them now, in a bounded process,
and ``preview_status`` says how far it got (``portal.attachments.models.PreviewStatus``).
Existing rows: those with a preview are ``ready``; raster images without one (the old
rule refused them, or could not read them) are ``pending``, so the worker judges them
once under the new pixel budget; every other file is ``none``.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

RASTER_IMAGES = ('image/png', 'image/jpeg', 'image/gif', 'image/webp')


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preview_status', sa.String(length=10), nullable=False,
                                      server_default='none'))
        batch_op.create_index(batch_op.f('ix_attachments_preview_status'), ['preview_status'],
                              unique=False)
    attachments = sa.table('attachments', sa.column('preview_sha256'),
                           sa.column('content_type'), sa.column('preview_status'))
    op.execute(attachments.update().where(attachments.c.preview_sha256.is_not(None))
               .values(preview_status='ready'))
    op.execute(attachments.update().where(attachments.c.preview_sha256.is_(None),
                                          attachments.c.content_type.in_(RASTER_IMAGES))
               .values(preview_status='pending'))


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_preview_status'))
        batch_op.drop_column('preview_status')
