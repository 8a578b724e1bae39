"""incremental gradebook: outcomes kept per (class run, view, student, objective), invalidation marks, watermark

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('grade_states',
    sa.Column('class_run_id', sa.Integer(), nullable=False),
    sa.Column('watermark', sa.BigInteger(), nullable=False),
    sa.Column('seen', sa.BigInteger(), nullable=False),
    sa.Column('all_dirty_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('class_run_id', name=op.f('pk_grade_states'))
    )
    op.create_table('grade_marks',
    sa.Column('class_run_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('dirty_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('class_run_id', 'student_id', name=op.f('pk_grade_marks'))
    )
    op.create_table('grade_cells',
    sa.Column('class_run_id', sa.Integer(), nullable=False),
    sa.Column('variant', sa.String(length=40), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('objective_id', sa.String(length=100), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('deadline', sa.DateTime(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('as_of', sa.BigInteger(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('class_run_id', 'variant', 'student_id', 'objective_id', name=op.f('pk_grade_cells'))
    )


def downgrade():
    op.drop_table('grade_cells')
    op.drop_table('grade_marks')
    op.drop_table('grade_states')
