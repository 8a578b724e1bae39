"""Flask-Limiter's counters in the database, so a throttle holds across every worker and machine.

The default `memory://` store keeps one counter per process: with four gunicorn workers an attacker gets
four times the sign-in attempts, and a restart forgets them all. `sandbox+db://` (the default
`RATELIMIT_STORAGE_URI`) keeps each fixed-window counter as one row of `rate_limit_counters`
(`sandbox/shared_state.py`). `redis://host:6379` still works when configured (Flask-Limiter's own store).

Each call runs in its OWN short transaction on `db.engine`, never in the request's session: a refused
sign-in's request answers 401 and its transaction may be discarded, yet its count must stay. An increment
is one `INSERT … ON CONFLICT DO UPDATE … RETURNING` statement, atomic across processes on PostgreSQL and
serialised by SQLite's write lock, which also restarts a window that has expired.
"""

from __future__ import annotations

import time
from typing import Any

from limits.storage import Storage
from sqlalchemy import Engine, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from .shared_state import RateLimitCounter

SCHEME = "sandbox+db"
DEFAULT_URI = f"{SCHEME}://"
# Expired rows are deleted at most this often per process (a cheap DELETE on the expires_at values).
SWEEP_SECONDS = 60.0

_TABLE = RateLimitCounter.__table__


class DatabaseStorage(Storage):
    """A `limits` storage over the `rate_limit_counters` table (fixed-window strategy).

    `engine` is for use outside Flask (tests, scripts); inside the app the current app's `db.engine`
    is used, looked up at each call, so one `Limiter` serves whichever app handles the request.
    """

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, engine: Engine | None = None,
                 **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._engine = engine
        # Only a schedule for the sweep, never a count: losing it (another process, a restart) loses nothing.
        self._last_sweep = 0.0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """Errors of the database layer (Flask-Limiter swallows them only when told to)."""
        return SQLAlchemyError

    def engine(self) -> Engine:
        """The engine the counters live in: the one given, else the current app's."""
        if self._engine is not None:
            return self._engine
        from .extensions import db

        return db.engine

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the counter of `key` and return the new count; an expired window starts again."""
        now = time.time()
        engine = self.engine()
        insert = (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(_TABLE)
        expired = _TABLE.c.expires_at <= now
        statement = insert.values(key=key, count=amount, expires_at=now + expiry).on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            # Both right-hand sides read the row as it was before the update (SQL semantics).
            set_={"count": case((expired, amount), else_=_TABLE.c.count + amount),
                  "expires_at": case((expired, now + expiry), else_=_TABLE.c.expires_at)},
        ).returning(_TABLE.c.count)
        with engine.begin() as conn:
            count = conn.execute(statement).scalar_one()
            if now - self._last_sweep > SWEEP_SECONDS:
                self._last_sweep = now
                conn.execute(delete(_TABLE).where(_TABLE.c.expires_at <= now))
        return int(count)

    def get(self, key: str) -> int:
        """The count of `key` in its current window (0 when none or expired)."""
        with self.engine().connect() as conn:
            count = conn.scalar(select(_TABLE.c.count).where(_TABLE.c.key == key, _TABLE.c.expires_at > time.time()))
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        """When the current window of `key` ends (Unix time; now when there is none)."""
        now = time.time()
        with self.engine().connect() as conn:
            expires = conn.scalar(select(_TABLE.c.expires_at).where(_TABLE.c.key == key, _TABLE.c.expires_at > now))
        return float(expires) if expires is not None else now

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with self.engine().connect() as conn:
                conn.scalar(select(func.count()).select_from(_TABLE).where(_TABLE.c.key == ""))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        """Forget every counter; returns how many there were."""
        with self.engine().begin() as conn:
            return conn.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        """Forget the counter of `key`."""
        with self.engine().begin() as conn:
            conn.execute(delete(_TABLE).where(_TABLE.c.key == key))
