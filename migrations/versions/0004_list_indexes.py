"""list indexes that match the visibility rule and the sort order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:30:00

The owner index gains class_id (the rule's "class_id = ? AND owner_id IN (...)" becomes an
equality prefix and the capped count reads the index only), the class index gains a trailing
owner_id, and a third index serves viewers over several classes newest first. Measured by
`sandbox bench`.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Every table built on sandbox.owned.Owned at this revision.
TABLES = ("leads", "accounts", "contacts", "opportunities")

NEW = {
    "owner_list": ["owner_id", "class_id", "deleted_at", "created_at", "id"],
    "class_list": ["class_id", "deleted_at", "created_at", "id", "owner_id"],
    "recent_list": ["deleted_at", "created_at", "id", "class_id", "owner_id"],
}
OLD = {
    "owner_list": ["owner_id", "deleted_at", "created_at", "id"],
    "class_list": ["class_id", "deleted_at", "created_at", "id"],
}


def upgrade():
    for table in TABLES:
        for suffix in OLD:
            op.drop_index(f"ix_{table}_{suffix}", table_name=table)
        for suffix, columns in NEW.items():
            op.create_index(f"ix_{table}_{suffix}", table, columns, unique=False)


def downgrade():
    for table in TABLES:
        for suffix in NEW:
            op.drop_index(f"ix_{table}_{suffix}", table_name=table)
        for suffix, columns in OLD.items():
            op.create_index(f"ix_{table}_{suffix}", table, columns, unique=False)
