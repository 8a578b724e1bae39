"""The business data a reset replaces: select it, snapshot it, delete it, and put a snapshot back.

A scope is one class (everything with its class_id, catalogue included) or one student of a class
(the records they own, without the class's catalogue). Child rows (opportunity lines, roles, notes,
attachments...) go with their parents. Everything here is Core SQL on purpose: it is the bulk path
of reset (ARCHITECTURE: "the only way around visibility"), run inside the reset's one transaction.
"""

from __future__ import annotations

import json
import zlib
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
    and_,
    bindparam,
    delete,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.types import NullType

from ..extensions import db
from ..owned import owned_classes

# Tables that belong to the class as a whole; a one-student reset keeps them.
CLASS_TABLES = ("product_categories", "products")
# Tables whose rows hang off a record by (record_type, record_id) instead of a foreign key.
POLYMORPHIC = ("notes", "attachments")


@dataclass(frozen=True)
class Scope:
    class_id: int
    student_id: int | None = None

    def describe(self) -> str:
        return f"class {self.class_id}" + (f", student {self.student_id}" if self.student_id else "")


def _tables() -> dict[str, Table]:
    return db.metadata.tables  # type: ignore[return-value]


def record_tables() -> list[str]:
    """Tables of business records (and the class's product categories), parents before children."""
    owned = {cls.__tablename__ for cls in owned_classes()} | {"product_categories"}
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


class Plan:
    """Which rows of which tables a scope covers, as SQL predicates."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        tables = _tables()
        names = record_tables()
        if scope.student_id is not None:
            names = [n for n in names if n not in CLASS_TABLES]
        self.records: dict[str, Any] = {n: _own_predicate(tables[n], scope) for n in names}
        self.children: dict[str, Any] = {}
        for name in child_tables(names):
            table = tables[name]
            terms = [
                c.in_(select(tables[fk.column.table.name].c.id).where(self.records[fk.column.table.name]))
                for c in table.columns for fk in c.foreign_keys if fk.column.table.name in self.records
            ]
            self.children[name] = or_(*terms)
        kinds = audit_types()
        for name in POLYMORPHIC:
            table = tables[name]
            terms = [
                and_(table.c.record_type == kinds[record], table.c.record_id.in_(select(tables[record].c.id).where(where)))
                for record, where in self.records.items() if record in kinds
            ]
            self.children[name] = or_(*terms)

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


def _encode(value: Any) -> Any:
    """JSON for the values the driver hands back that JSON lacks (PostgreSQL's dates and decimals)."""
    if isinstance(value, datetime):
        return value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot snapshot {type(value).__name__}")


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


def _raw(table: Table) -> Any:
    # Driver values as they are (no result processing): SQLite's are already JSON, and a snapshot of a
    # whole class is tens of thousands of rows.
    return select(*(type_coerce(c, NullType()).label(c.name) for c in table.columns))


def take_snapshot(conn: Connection, plan: Plan) -> tuple[bytes, int]:
    """The scope's rows (and outside references into it) as compressed JSON; returns (data, row count)."""
    tables = _tables()
    data: dict[str, Any] = {"tables": {}, "references": []}
    count = 0
    for name, where in [*plan.records.items(), *plan.children.items()]:
        table = tables[name]
        rows = conn.execute(_raw(table).where(where)).all()
        if rows:
            data["tables"][name] = {"columns": list(table.c.keys()), "rows": [tuple(row) for row in rows]}
            count += len(rows)
    for column, where in plan.outside_references():
        table = column.table
        for row_id, value in conn.execute(select(table.c.id, column).where(where)):
            data["references"].append([table.name, column.name, row_id, value])
    return zlib.compress(json.dumps(data, separators=(",", ":"), default=_encode).encode(), 1), count


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


def restore_snapshot(conn: Connection, blob: bytes) -> int:
    """Insert a snapshot's rows back with their ids (parents first), then its outside references. Returns rows."""
    data = json.loads(zlib.decompress(blob))
    tables = _tables()
    count = 0
    order = [t.name for t in db.metadata.sorted_tables if t.name in data["tables"]]
    for name in order:
        table, part = tables[name], data["tables"][name]
        decoders = [(i, d) for i, key in enumerate(part["columns"]) if (d := _decoder(table.c[key]))]
        selfrefs = _self_references(table)
        rows, later = [], []
        for values in part["rows"]:
            for i, decode in decoders:
                if values[i] is not None:
                    values[i] = decode(values[i])
            row = dict(zip(part["columns"], values, strict=True))
            # A row may point at a sibling inserted after it: insert without, then set it.
            pending = {c: row.pop(c) for c in selfrefs if row.get(c) is not None}
            row.update({c: None for c in selfrefs})
            if pending:
                later.append({"_id": row["id"], **{f"_{c}": v for c, v in pending.items()}})
            rows.append(row)
        conn.execute(table.insert(), rows)
        for column in selfrefs:
            batch = [r for r in later if f"_{column}" in r]
            if batch:
                stmt = update(table).where(table.c.id == bindparam("_id")).values({column: bindparam(f"_{column}")})
                conn.execute(stmt, [{"_id": r["_id"], f"_{column}": r[f"_{column}"]} for r in batch])
        count += len(rows)
    for name, column, row_id, value in data["references"]:
        table = tables[name]
        conn.execute(update(table).where(table.c.id == row_id).values({column: value}))
    return count
