"""State that every worker process must see alike, kept in the database instead of process memory.

Several gunicorn workers (or machines) serve one classroom: a sign-in counter or a cache held in one
process's memory would be invisible to the others. Both live here as tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DDL, BigInteger, LargeBinary, String, event
from sqlalchemy.orm import Mapped, mapped_column

from .clock import utcnow
from .extensions import db


class RateLimitCounter(db.Model):
    """One fixed-window counter of the sign-in throttle (Flask-Limiter's storage when no Redis is configured).

    `expires_at` is a Unix time (seconds, float): the window ends then and the next hit starts a new one.
    """

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[float] = mapped_column()


class CachedBook(db.Model):
    """Generated scenario rows, kept by the hash of everything that generated them (scenario text, seed, roster).

    Generation is deterministic, so the same inputs give byte-identical rows: a reset can insert these
    instead of generating again. Derived data: a backup may leave the table out and nothing is lost.
    """

    __tablename__ = "cached_books"

    input_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrgStamp(db.Model):
    """One row whose `version` moves with every change of the organisation tables (sandbox/kept_identity.py).

    Each worker keeps the signed-in users and their viewers between requests while the version it read them
    under is the current one; every insert, update or delete of users, positions or sharing settings moves
    it in the same transaction, so no worker serves an identity older than the organisation it reads.
    """

    __tablename__ = "org_stamps"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


# Databases made with create_all (tests, tools) get the row the migration inserts.
event.listen(OrgStamp.__table__, "after_create", DDL("INSERT INTO org_stamps (id, version) VALUES (1, 0)"))
