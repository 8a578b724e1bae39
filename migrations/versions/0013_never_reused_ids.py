"""ids never reused; notes and attachments know their class

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 18:10:00

A reset deletes a class's records and an undo deletes the undone run's; on SQLite the next insert then
took the highest id again, so log entries about a deleted record showed on a new record of another
class. Every table a reset deletes from is rebuilt with AUTOINCREMENT (SQLite only: PostgreSQL's
sequences never go back). Notes and attachments get their parent's class, so they are read with it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Every table a reset deletes from at this revision (records, their children, notes, attachments).
TABLES = (
    "product_categories", "accounts", "activities", "competitors", "products", "contacts", "opportunities", "leads",
    "opportunity_competitors", "opportunity_contact_roles", "opportunity_lines", "opportunity_partners",
    "opportunity_stage_history", "notes", "attachments",
)
# record_type of notes and attachments -> the table of the parent record.
PARENTS = {
    "lead": "leads", "account": "accounts", "contact": "contacts", "opportunity": "opportunities",
    "activity": "activities", "competitor": "competitors", "product": "products",
}
CHILDREN = ("notes", "attachments")


def _rebuild(autoincrement):
    """SQLite: copy each table into one declared with or without AUTOINCREMENT (sqlite_sequence then
    starts at the highest id). Foreign keys must be off while a referenced table is dropped and renamed;
    that pragma only takes effect outside a transaction."""
    context = op.get_context()
    with context.autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": autoincrement}):
            pass
    with context.autocommit_block():
        op.execute("PRAGMA foreign_keys=ON")


def upgrade():
    for table in CHILDREN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("class_id", sa.Integer(), nullable=True))
        for record_type, parent in PARENTS.items():
            op.execute(
                f"UPDATE {table} SET class_id = (SELECT {parent}.class_id FROM {parent} "
                f"WHERE {parent}.id = {table}.record_id) WHERE record_type = '{record_type}'"
            )
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(True)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(False)
    for table in CHILDREN:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("class_id")
