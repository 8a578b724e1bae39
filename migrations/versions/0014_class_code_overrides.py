"""code tables: the school's defaults plus per-class overrides

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 18:20:00

A code value with a class_id overrides the default with the same code for that class only (or is a
value only that class has); NULL is the school's default. An instructor's edit then reaches only the
classes below them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("code_values", schema=None) as batch_op:
        batch_op.add_column(sa.Column("class_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_code_values_class_id_positions"), "positions", ["class_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_code_values_class_id"), ["class_id"], unique=False)
        batch_op.drop_constraint("uq_code_values_table_name", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_code_values_table_name"), ["table_name", "code", "class_id"])


def downgrade():
    op.execute("DELETE FROM code_values WHERE class_id IS NOT NULL")
    with op.batch_alter_table("code_values", schema=None) as batch_op:
        batch_op.drop_constraint("uq_code_values_table_name", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_code_values_table_name"), ["table_name", "code"])
        batch_op.drop_index(batch_op.f("ix_code_values_class_id"))
        batch_op.drop_constraint(batch_op.f("fk_code_values_class_id_positions"), type_="foreignkey")
        batch_op.drop_column("class_id")
