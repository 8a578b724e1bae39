"""remembered import column mappings

Revision ID: 0019
Revises: 0015
Create Date: 2026-12-02 18:10:00

One row per user, record type and header: the field that user chose for a column of an import file,
applied automatically to the next import of the same export.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('record_type', sa.String(length=32), nullable=False),
    sa.Column('header', sa.String(length=200), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_mappings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mappings')),
    sa.UniqueConstraint('user_id', 'record_type', 'header', name='uq_import_mappings_header')
    )


def downgrade():
    op.drop_table('import_mappings')
