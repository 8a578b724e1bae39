"""indexes for faster pages: the calendar's events of an owner in a time range

Revision ID: 0023_speed
Revises: 0022
Create Date: 2026-12-03 12:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0023_speed'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    # The calendar reads a student's events by owner and start time (a month's window): without it the
    # owner's every activity was read to find the month's events.
    op.create_index('ix_activities_owner_start', 'activities', ['owner_id', 'start_at'], unique=False)


def downgrade():
    op.drop_index('ix_activities_owner_start', table_name='activities')
