"""The business data a reset replaces: select it, snapshot it, delete it, and put a snapshot back.

A scope is one class (everything with its class_id, catalogue included) or one student of a class
(the records they own, without the class's catalogue). Child rows (opportunity lines, roles, notes,
attachments...) go with their parents. Everything here is Core SQL on purpose: it is the bulk path
of reset (ARCHITECTURE: "the only way around visibility"), run inside the reset's one transaction.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Numeric,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)

from ...extensions import db
from ...owned import owned_classes

# Tables that belong to the class as a whole; a one-student reset keeps them.
CLASS_TABLES = ("product_categories", "products")
# Tables whose rows hang off a record by (record_type, record_id) instead of a foreign key.
POLYMORPHIC = ("notes", "attachments")


@dataclass(frozen=True)
class Scope:
    """What a reset replaces: a class's data, or one student's in it."""
    class_id: int
    student_id: int | None = None

    def describe(self) -> str:
        """The scope in words, for messages."""
        return f"class {self.class_id}" + (f", student {self.student_id}" if self.student_id else "")


def _tables() -> dict[str, Table]:
    return db.metadata.tables  # type: ignore[return-value]


def record_tables() -> list[str]:
    """Tables of business records (and the class's product categories), parents before children."""
    owned = {cls.__tablename__ for cls in owned_classes() if not getattr(cls, "__kept_on_reset__", False)}
    owned |= {"product_categories"}
    return [t.name for t in db.metadata.sorted_tables if t.name in owned]


def audit_types() -> dict[str, str]:
    """Table name → the record_type notes and attachments use for it."""
    return {cls.__tablename__: cls.__audit_type__ for cls in owned_classes()}


def child_tables(parents: list[str]) -> list[str]:
    """Tables without a class of their own that point at a record table (opportunity lines, roles...)."""
    found = []
    for table in db.metadata.sorted_tables:
        if table.name in parents or table.name in POLYMORPHIC or "class_id" in table.c:
            continue
        if any(fk.column.table.name in parents for c in table.columns for fk in c.foreign_keys):
            found.append(table.name)
    return found


def _own_predicate(table: Table, scope: Scope) -> Any:
    predicate = table.c.class_id == scope.class_id
    if scope.student_id is not None:
        predicate = and_(predicate, table.c.owner_id == scope.student_id)
    return predicate


def _unindexed(column: Column[Any]) -> Any:
    """The column's value in an expression SQLite cannot look up in an index (`column + 0`)."""
    return column + literal_column("0")


class Plan:
    """Which rows of which tables a scope covers, as SQL predicates.

    A child row is in the scope when one of its references points at a record in it, `child.ref IN (SELECT id
    FROM record WHERE <scope>)` for each reference. SQLite, which keeps no statistics here, answers such an OR
    the same way whatever the sizes: for every record of the scope (21,000 for a class of 60) it looks up the
    child's index, even when the child table is empty, twice per table (snapshot, delete). With `conn` (SQLite),
    the plan compares each child table's row count with the scope's records it points at, and where the table is
    the smaller, its predicate reads each child row once and looks its references up among the scope's ids
    instead (the same rows either way, only the order of the work differs)."""

    def __init__(self, scope: Scope, conn: Connection | None = None) -> None:
        self.scope = scope
        tables = _tables()
        names = record_tables()
        if scope.student_id is not None:
            names = [n for n in names if n not in CLASS_TABLES]
        self.records: dict[str, Any] = {n: _own_predicate(tables[n], scope) for n in names}
        self.children: dict[str, Any] = {}
        # The same predicates read child row by child row, and the records each child table points at.
        self.row_by_row: dict[str, Any] = {}
        pointing: dict[str, list[str]] = {}
        for name in child_tables(names):
            table = tables[name]
            refs = [(c, fk.column.table.name) for c in table.columns for fk in c.foreign_keys
                    if fk.column.table.name in self.records]
            self.children[name] = or_(*[c.in_(self._ids(record)) for c, record in refs])
            self.row_by_row[name] = or_(*[_unindexed(c).in_(self._ids(record)) for c, record in refs])
            pointing[name] = [record for _c, record in refs]
        kinds = audit_types()
        for name in POLYMORPHIC:
            table = tables[name]
            pointed = [record for record in self.records if record in kinds]
            self.children[name] = or_(*[
                and_(table.c.record_type == kinds[record], table.c.record_id.in_(self._ids(record)))
                for record in pointed])
            self.row_by_row[name] = or_(*[
                and_(table.c.record_type == kinds[record], _unindexed(table.c.record_id).in_(self._ids(record)))
                for record in pointed])
            pointing[name] = pointed
        if conn is not None and conn.dialect.name == "sqlite" and pointing:
            self._choose(conn, pointing)

    def _ids(self, record: str) -> Any:
        return select(_tables()[record].c.id).where(self.records[record])

    def _choose(self, conn: Connection, pointing: dict[str, list[str]]) -> None:
        """Read a child table row by row where it has no more rows than the scope's records it points at
        (one statement counts them all)."""
        tables = _tables()
        pointed = sorted({record for records in pointing.values() for record in records})
        counts = [select(func.count()).select_from(tables[r]).where(self.records[r]).scalar_subquery()
                  for r in pointed]
        counts += [select(func.count()).select_from(tables[c]).scalar_subquery() for c in pointing]
        row = conn.execute(select(*counts)).one()
        in_scope = dict(zip(pointed, row[:len(pointed)], strict=True))
        for (name, records), rows in zip(pointing.items(), row[len(pointed):], strict=True):
            if rows <= sum(in_scope[r] for r in records):
                self.children[name] = self.row_by_row[name]

    def outside_references(self) -> list[tuple[Column[Any], Any]]:
        """Nullable references from rows outside the scope into it (another student's contact at this student's account)."""
        if self.scope.student_id is None:
            return []
        tables = _tables()
        found = []
        for name in self.records:
            table = tables[name]
            for column in table.columns:
                for fk in column.foreign_keys:
                    target = fk.column.table.name
                    if target in self.records and column.nullable and column.name not in ("owner_id", "class_id"):
                        inside = select(tables[target].c.id).where(self.records[target])
                        found.append((column, and_(table.c.class_id == self.scope.class_id, ~self.records[name],
                                                   column.in_(inside))))
        return found


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _decoder(column: Column[Any]) -> Any:
    """From a snapshot's JSON value back to what the column type binds (dates, decimals, JSON, booleans)."""
    kind = column.type
    if isinstance(kind, DateTime):
        return datetime.fromisoformat
    if isinstance(kind, Date):
        return date.fromisoformat
    if isinstance(kind, Numeric) and kind.asdecimal:
        return lambda v: Decimal(str(v))
    if isinstance(kind, JSON):
        return _json_value
    if isinstance(kind, Boolean):
        return bool
    return None


def _table_json(conn: Connection, table: Table) -> Any:
    """A SQL aggregate of the selected rows of `table` as one JSON array with one array of its columns' values
    per row, built by the database (no Python per row). Arrays rather than objects: the column names are kept
    once per table in the snapshot's metadata instead of in every row, which halves what a reset writes."""
    if conn.dialect.name == "postgresql":
        return cast(func.json_agg(func.json_build_array(*table.columns)), Text)
    return func.json_group_array(func.json_array(*table.columns))


def take_snapshot(conn: Connection, plan: Plan, snapshot_id: int) -> bytes:
    """Copy the scope's rows into snapshot_rows, one row per table holding all its rows (a packed snapshot:
    one INSERT ... SELECT with a JSON aggregate per table, built by the database). Returns the metadata
    (compressed JSON, for RunSnapshot.data: each table's column order, the outside references into the scope
    and `packed`). It copies exactly the rows delete_scope() then deletes (the same predicates, under the
    reset's lock), so the caller takes the number of rows from the delete instead of counting them again.

    Packed rather than one snapshot row per record: a class reset replaces ~21,000 records, and writing (and
    later pruning) that many snapshot rows with their index entries cost about as much as deleting the records."""
    rows = _tables()["snapshot_rows"]
    columns: dict[str, list[str]] = {}
    for name, where in [*plan.records.items(), *plan.children.items()]:
        table = _tables()[name]
        columns[name] = [c.name for c in table.columns]
        packed = select(_table_json(conn, table).label("data"), func.count().label("n")).where(where).subquery()
        copy = select(literal(snapshot_id), literal(name), packed.c.data).where(packed.c.n > 0)
        insert = rows.insert().from_select(["snapshot_id", "table_name", "data"], copy)
        conn.execute(insert)
    references = []
    for column, where in plan.outside_references():
        table = column.table
        for row_id, value in conn.execute(select(table.c.id, column).where(where)):
            references.append([table.name, column.name, row_id, value])
    meta = {"columns": columns, "references": references, "packed": True}
    return zlib.compress(json.dumps(meta).encode())


def _stored_rows(conn: Connection, snapshot_id: int, meta: dict[str, Any], table_name: str | None = None
                 ) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table name, column → value) of every row a snapshot keeps (of one table if given), in the order stored.
    Reads every format written so far: packed (one snapshot row per table), one array or one object per row."""
    stored = _tables()["snapshot_rows"]
    query = select(stored.c.table_name, stored.c.data).where(stored.c.snapshot_id == snapshot_id)
    if table_name is not None:
        query = query.where(stored.c.table_name == table_name)
    columns: dict[str, list[str]] = meta["columns"]
    for name, data in conn.execute(query.order_by(stored.c.id)):
        if meta.get("packed"):
            names = columns[name]
            for value in json.loads(data):
                yield name, dict(zip(names, value, strict=True))
        else:
            yield name, _row_dict(columns.get(name, []), data)


def _row_dict(columns: list[str], data: str) -> dict[str, Any]:
    """A stored snapshot row as column → value (rows written before arrays are objects already)."""
    value = json.loads(data)
    return dict(zip(columns, value, strict=True)) if isinstance(value, list) else value


def _meta(data: bytes) -> dict[str, Any]:
    meta = json.loads(zlib.decompress(data))
    if isinstance(meta, list):  # written before rows were arrays: objects, and the references alone
        meta = {"columns": {}, "references": meta}
    return meta


def scope_files(conn: Connection, plan: Plan) -> set[str]:
    """Stored file names of the attachments in the scope now."""
    table = _tables()["attachments"]
    where = plan.children.get("attachments")
    return set(conn.scalars(select(table.c.stored_name).where(where))) if where is not None else set()


def snapshot_files(conn: Connection, snapshots: list[tuple[int, bytes]]) -> set[str]:
    """Stored file names of the attachments kept in these snapshots (id, data)."""
    names: set[str] = set()
    for snapshot_id, data in snapshots:
        for _name, row in _stored_rows(conn, snapshot_id, _meta(data), "attachments"):
            names.add(row["stored_name"])
    return names


def live_files(conn: Connection, names: set[str]) -> set[str]:
    """Those of `names` that an attachment row still uses."""
    table = _tables()["attachments"]
    return set(conn.scalars(select(table.c.stored_name).where(table.c.stored_name.in_(names)))) if names else set()


def drop_snapshot_rows(conn: Connection, snapshot_ids: Any) -> None:
    """Forget the rows of snapshots (an undone reset's, or the oldest ones)."""
    rows = _tables()["snapshot_rows"]
    conn.execute(delete(rows).where(rows.c.snapshot_id.in_(snapshot_ids)))


def delete_scope(conn: Connection, plan: Plan) -> int:
    """Delete the scope's rows, children first; outside references into it become NULL. Returns rows deleted."""
    tables = _tables()
    for column, where in plan.outside_references():
        conn.execute(update(column.table).where(where).values({column.name: None}))
    count = 0
    for name, where in plan.children.items():
        count += conn.execute(delete(tables[name]).where(where)).rowcount or 0
    for name in reversed(list(plan.records)):
        count += conn.execute(delete(tables[name]).where(plan.records[name])).rowcount or 0
    return count


def _self_references(table: Table) -> list[str]:
    return [c.name for c in table.columns for fk in c.foreign_keys if fk.column.table is table]


def restore_snapshot(conn: Connection, snapshot_id: int, references: bytes, class_id: int | None = None) -> int:
    """Insert a snapshot's rows back with their ids (parents first), then its outside references. Returns rows.
    Every row of a scope is in `class_id`: rows saved before their table had a class_id (notes, attachments)
    get it back."""
    tables = _tables()
    meta = _meta(references)
    by_table: dict[str, list[dict[str, Any]]] = {}
    for name, row in _stored_rows(conn, snapshot_id, meta):
        by_table.setdefault(name, []).append(row)
    count = 0
    for table in db.metadata.sorted_tables:
        part = by_table.get(table.name)
        if not part:
            continue
        decoders = [(c.name, d) for c in table.columns if (d := _decoder(c))]
        selfrefs = _self_references(table)
        later = []
        for row in part:
            if class_id is not None and "class_id" in table.c:
                row.setdefault("class_id", class_id)
            for key, decode in decoders:
                if row.get(key) is not None:
                    row[key] = decode(row[key])
            # A row may point at a sibling inserted after it: insert without, then set it.
            pending = {c: row[c] for c in selfrefs if row.get(c) is not None}
            row.update({c: None for c in selfrefs})
            if pending:
                later.append({"_id": row["id"], **{f"_{c}": v for c, v in pending.items()}})
        conn.execute(table.insert(), part)
        for column in selfrefs:
            batch = [r for r in later if f"_{column}" in r]
            if batch:
                stmt = update(table).where(table.c.id == bindparam("_id")).values({column: bindparam(f"_{column}")})
                conn.execute(stmt, [{"_id": r["_id"], f"_{column}": r[f"_{column}"]} for r in batch])
        count += len(part)
    for name, column, row_id, value in meta["references"]:
        table = tables[name]
        conn.execute(update(table).where(table.c.id == row_id).values({column: value}))
    return count
