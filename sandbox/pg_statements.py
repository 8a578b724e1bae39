"""PostgreSQL: a transaction that only read ends with COMMIT, so each connection keeps its prepared statements.

psycopg prepares a statement on the server once a connection has run it five times; PostgreSQL then skips
parsing it and, once a generic plan serves, planning it. On the lecture hall's pages planning alone cost the
server twice what running the queries did. But psycopg forgets every prepared statement on ROLLBACK (a
rolled-back transaction might have dropped or recreated what they refer to), and every request that only reads
ends with one when its session closes, so no statement ever got there. A transaction that ran nothing but
SELECTs has nothing to undo: ending it with COMMIT leaves the data exactly as a ROLLBACK would, and keeps the
statements. A transaction that ran anything else (a write, DDL, a savepoint) or failed still rolls back.

Every statement the app sends goes through SQLAlchemy's cursor execution, where it is seen; the one raw
DB-API cursor (the scenario loader's bulk insert) is used on SQLite only.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakSet

from sqlalchemy import event
from sqlalchemy.engine import Engine

PREPARED_MAX = 512  # statements kept per connection (psycopg's default, 100, is fewer than the pages use)
_not_only_reads: WeakSet[Any] = WeakSet()  # psycopg connections whose open transaction ran more than SELECTs


def _driver(dbapi_connection: Any) -> Any:
    return getattr(dbapi_connection, "driver_connection", dbapi_connection)


def _note(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    if not statement.lstrip()[:6].upper() == "SELECT":
        _not_only_reads.add(_driver(conn.connection))


def _keep_more(dbapi_connection: Any, connection_record: Any) -> None:
    _driver(dbapi_connection).prepared_max = PREPARED_MAX


def install(engine: Engine) -> None:
    """End `engine`'s read-only transactions with COMMIT (psycopg only; other drivers are left alone)."""
    dialect = engine.dialect
    if dialect.driver != "psycopg" or getattr(dialect, "_sandbox_reads_commit", False):
        return
    from psycopg.pq import TransactionStatus

    event.listen(engine, "before_cursor_execute", _note)
    event.listen(engine, "connect", _keep_more)
    rollback, commit = dialect.do_rollback, dialect.do_commit

    def do_rollback(dbapi_connection: Any) -> None:
        driver = _driver(dbapi_connection)
        if driver in _not_only_reads:
            _not_only_reads.discard(driver)
        elif driver.info.transaction_status == TransactionStatus.INTRANS:  # open and not failed
            driver.commit()
            return
        rollback(dbapi_connection)

    def do_commit(dbapi_connection: Any) -> None:
        _not_only_reads.discard(_driver(dbapi_connection))
        commit(dbapi_connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect._sandbox_reads_commit = True  # type: ignore[attr-defined]
