"""organisation stamp: one row whose version moves with every change of users, positions and sharing

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 22:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    stamps = op.create_table('org_stamps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_stamps'))
    )
    op.bulk_insert(stamps, [{'id': 1, 'version': 0}])


def downgrade():
    op.drop_table('org_stamps')
