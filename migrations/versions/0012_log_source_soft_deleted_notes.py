"""log entry source; notes and attachments are soft-deleted

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:10:00

Grading counts what a student did in the UI by default, so an entry says where it came from (ui, import).
A deleted note or attachment stays readable to the instructor (evidence of a manual objective).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch rebuild): log_entries carries the append-only triggers.
    op.add_column('log_entries', sa.Column('source', sa.String(length=16), nullable=True))
    for table in ('notes', 'attachments'):
        op.add_column(table, sa.Column('deleted_at', sa.DateTime(), nullable=True))
        op.add_column(table, sa.Column('deleted_by_id', sa.Integer(), nullable=True))


def downgrade():
    for table in ('attachments', 'notes'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('deleted_by_id')
            batch_op.drop_column('deleted_at')
    op.drop_column('log_entries', 'source')
