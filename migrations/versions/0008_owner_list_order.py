"""owner list index: deleted_at before class_id

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 12:00:00

With class_id second, a probe by owner alone (the owner picker's EXISTS for viewers above several
classes) lost to the recent_list index once SQLite's ANALYZE had averaged deleted_at. With
deleted_at second the rule's conjunct is still an equality prefix. Measured by `sandbox bench`.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Every table built on sandbox.owned.Owned at this revision.
TABLES = ("leads", "accounts", "contacts", "opportunities", "activities", "competitors", "products")
NEW = ["owner_id", "deleted_at", "class_id", "created_at", "id"]
OLD = ["owner_id", "class_id", "deleted_at", "created_at", "id"]


def _recreate(columns):
    for table in TABLES:
        op.drop_index(f"ix_{table}_owner_list", table_name=table)
        op.create_index(f"ix_{table}_owner_list", table, columns, unique=False)


def upgrade():
    _recreate(NEW)


def downgrade():
    _recreate(OLD)
