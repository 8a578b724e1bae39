"""Bulk insert of generated seed rows: temporary keys become real ids, one executemany per table.

seed.generate() returns rows that point at each other by temporary `key` (`account_ref` = the key of
an account row). Ids are allocated up front (PostgreSQL: from the table's sequence; SQLite: after the
highest id ever given, safe because the reset already holds the write lock), so no insert needs RETURNING and
each table is one executemany at the driver's full speed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, DateTime, Table, func, select, text

from seed import TABLE_ORDER

from ...errors import ServiceError
from ...extensions import db

Progress = Callable[[str, int], None]


class LoadError(ServiceError):
    """Generated rows that cannot be loaded (a reference to a catalogue row that no longer exists)."""


def allocate_ids(conn: Connection, table: Table, n: int, following: dict[str, int] | None = None) -> list[int]:
    """`n` fresh ids for `table` that no other writer will take. `following` (table name → the id after the
    last one given), kept by the caller across the parts of one load, spares SQLite two queries per table and part."""
    if n == 0:
        return []
    if conn.dialect.name == "postgresql":
        seq = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
        return list(conn.scalars(text("SELECT nextval(:s) FROM generate_series(1, :n)"), {"s": seq, "n": n}))
    start = following.get(table.name) if following is not None else None
    if start is None:
        # After the highest id ever given (AUTOINCREMENT's sqlite_sequence), not the highest id left: rows a
        # reset or an undo deleted keep their ids. Safe without a lock of its own: the reset holds the write
        # lock, so nobody else inserts into the table until its commit (and the ids given stay the next ones).
        given = conn.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table.name}) or 0
        start = max(conn.scalar(select(func.max(table.c.id))) or 0, given) + 1
    if following is not None:
        following[table.name] = start + n
    return list(range(start, start + n))


def _refs(sample: dict[str, Any]) -> list[tuple[str, str]]:
    """(ref column, id column) pairs of a generated row; activities' related_ref is related_id."""
    return [(k, "related_id" if k == "related_ref" else k[:-4] + "_id") for k in sample if k.endswith("_ref")]


def _upsert_codes(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Add the scenario's codes missing from the school's defaults; edits of existing codes (the admin's
    defaults, the instructors' class overrides) are kept."""
    if not rows:
        return 0
    table = db.metadata.tables["code_values"]
    have = set(conn.execute(select(table.c.table_name, table.c.code).where(table.c.class_id.is_(None))))
    new = [r for r in rows if (r["table_name"], r["code"]) not in have]
    if new:
        conn.execute(table.insert(), new)
    return len(new)


def _sqlite_converter(column: Any, dialect: Any) -> Callable[[Any], Any] | None:
    if isinstance(column.type, DateTime):
        # The same text SQLAlchemy's SQLite DATETIME writes, at C speed.
        return lambda v: v.isoformat(" ", "microseconds")
    return column.type._cached_bind_processor(dialect)


@dataclass
class Batch:
    """One table's generated rows as driver-ready value lists: the `<name>_ref` slots still hold keys and
    the id slot is empty until insert_rows() knows the ids."""

    columns: list[str]
    values: list[list[Any]]
    refs: list[tuple[int, str]]  # (position in a row, ref column) for every reference
    keys: list[str] | None  # each row's key, for tables that others reference


Prepared = dict[str, Any]  # table name → Batch (code_values: the plain rows, upserted)


def prepare(rows: dict[str, list[dict[str, Any]]], dialect: Any) -> Prepared:
    """Generated rows → Batches, values converted the way the dialect binds them (SQLite: by hand, since
    Core's per-row processing would cost more than the insert)."""
    prepared: Prepared = {}
    convert = dialect.name == "sqlite"
    for name in TABLE_ORDER:
        batch = rows.get(name) or []
        if not batch:
            continue
        if name == "code_values":  # upserted from the plain rows
            prepared[name] = batch
            continue
        table = db.metadata.tables[name]
        refs = _refs(batch[0])
        plain = [k for k in batch[0] if k != "key" and not k.endswith("_ref")]
        keyed = "key" in batch[0]
        converters = [(i, f) for i, c in enumerate(plain) if (f := _sqlite_converter(table.c[c], dialect))] \
            if convert else []
        ref_names = [ref for ref, _column in refs]
        values = []
        for row in batch:
            item = [row[k] for k in plain]
            for i, converter in converters:
                if item[i] is not None:
                    item[i] = converter(item[i])
            item.extend(row[ref] for ref in ref_names)
            if keyed:
                item.append(None)
            values.append(item)
        prepared[name] = Batch(columns=plain + [column for _ref, column in refs] + (["id"] if keyed else []),
                               values=values, refs=[(len(plain) + i, ref) for i, ref in enumerate(ref_names)],
                               keys=[row["key"] for row in batch] if keyed else None)
    return prepared


def executemany(conn: Connection, table: Table, columns: list[str], values: list[list[Any]]) -> None:
    """One bulk insert of prepared values: on SQLite straight to the driver, elsewhere Core's executemany."""
    if conn.dialect.name != "sqlite":
        conn.execute(table.insert(), [dict(zip(columns, v, strict=True)) for v in values])
        return
    # Quoted as the dialect quotes them: a column may be named with an SQL word (case_history.values).
    quote = conn.dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) VALUES ({', '.join('?' * len(columns))})"
    # Straight to the DB-API cursor, inside the connection's transaction: exec_driver_sql's per-statement
    # bookkeeping of the parameter list cost about a third of the insert (measured on a 60-student reset).
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, values)
    finally:
        cursor.close()


def insert_rows(conn: Connection, rows: Prepared, known: dict[str, int] | None = None, skip: tuple[str, ...] = (),
                progress: Progress | None = None, following: dict[str, int] | None = None) -> int:
    """Insert prepare()d rows in TABLE_ORDER; `known` maps keys of rows already in the database (the class
    catalogue on a one-student reset, or an earlier part of the same load) to their ids, and gains the keys
    inserted now; tables in `skip` are not inserted; `following`: see allocate_ids() (one dict for all the
    parts of one load, which nothing else inserts into meanwhile). Returns rows."""
    ids: dict[str, int] = known if known is not None else {}
    total = 0
    for name in TABLE_ORDER:
        batch = rows.get(name)
        if name in skip or not batch:
            continue
        if name == "code_values":
            total += _upsert_codes(conn, batch)
            continue
        table = db.metadata.tables[name]
        refs = batch.refs
        keyed = batch.keys is not None
        new_ids = allocate_ids(conn, table, len(batch.values), following) if keyed else []
        # Row by row: a row may point at an earlier row of its own table, never at a later one.
        for i, item in enumerate(batch.values):
            for position, ref in refs:
                ref_key = item[position]
                if ref_key is not None:
                    try:
                        item[position] = ids[ref_key]
                    except KeyError:
                        raise LoadError(f"{name}: {ref} points at {ref_key!r}, which is neither generated nor in "
                                        "the class") from None
            if keyed:
                item[-1] = new_ids[i]
                ids[batch.keys[i]] = new_ids[i]
        executemany(conn, table, batch.columns, batch.values)
        total += len(batch.values)
        if progress is not None:
            progress(name, len(batch.values))
    return total
