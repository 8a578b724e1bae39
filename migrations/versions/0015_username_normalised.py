"""one account per normalised username

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 18:00:00

Usernames are matched stripped and lower-cased (sandbox/auth/usernames.py) by sign-in, the throttle and
registration; a unique index on lower(username) keeps the database to the same rule.

Accounts made before this could differ only by case ("Alice" and "alice"); sign-in found one of them
at random. The oldest account keeps its name; each later one is renamed by appending "-2", "-3", ...
(the first free name), so every account can sign in again under a name its instructor sees in the user
list. Usernames that clash with nothing keep their spelling.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, username FROM users ORDER BY id")).all()
    taken = {name.lower() for _id, name in rows}
    seen: set[str] = set()
    for user_id, name in rows:
        if name.lower() not in seen:
            seen.add(name.lower())
            continue
        n = 2
        while True:
            suffix = f"-{n}"
            renamed = name[:64 - len(suffix)] + suffix
            if renamed.lower() not in taken:
                break
            n += 1
        taken.add(renamed.lower())
        conn.execute(sa.text("UPDATE users SET username = :u WHERE id = :i"), {"u": renamed, "i": user_id})
    op.create_index('uq_users_username_lower', 'users', [sa.text('lower(username)')], unique=True)


def downgrade():
    op.drop_index('uq_users_username_lower', table_name='users')
