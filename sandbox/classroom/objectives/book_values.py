"""The normalised values of a class's generated records, kept per worker process (integrity hints read them).

The class activity page compares what students wrote with every student's generated book: some 9,000 records and
tens of thousands of values a class, read and normalised on every visit. Those records rarely change, and every
change to them is a log entry naming them (oplog.py: the operation's object and `changes.related`, every audited
row it created, updated or deleted), so what was read is kept here with the newest log entry id when it was read
(`watermark`), and a visit reads only the entries since then and, again, only the records they name.

Read everything again instead when anything else may have changed the books: the class's runs differ (a load,
reset or undo; a late joiner's book comes with a run of its own), the students or their runs' starts differ, an
entry since the watermark is a scenario operation or changes many records at once (imports, bulk changes: Core
statements name no row), or, on PostgreSQL, the number of entries up to the watermark changed (PostgreSQL may
commit a lower entry id after a higher one, as grading/incremental.py explains). The entries read are the class's
and those of no class, as grading reads them.

Kept per engine (a test's or a restored database's engine is another one) and per class; MAX_RECORDS records at
most, the least recently used classes dropped first. Derived data: dropping it loses nothing. What is kept serves
every reader, so all of it is read as the system (skip_visibility); the page shows it only to the class's staff.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from ...accounts.models import Account
from ...contacts.models import Contact
from ...extensions import db
from ...leads.models import Lead
from ...oplog import LogEntry
from ...opportunities.models import Opportunity
from ..models import Run

Record = tuple[str, int]  # (record type, id)
Key = tuple[str, str]  # (kind, normalised value)

# What each generated record type holds, by kind (a record's name is a person, a company or a deal).
BOOK_FIELDS: dict[type, dict[str, str]] = {
    Lead: {"name": "person", "company": "company", "phone": "phone", "mobile": "phone", "email": "email",
           "website": "website", "description": "text"},
    Account: {"name": "company", "phone": "phone", "fax": "phone", "email": "email", "website": "website",
              "description": "text"},
    Contact: {"name": "person", "phone": "phone", "mobile": "phone", "email": "email", "description": "text"},
    Opportunity: {"name": "deal", "description": "text"},
}
MODELS = {model.__audit_type__: model for model in BOOK_FIELDS}
# Entries whose changes a log entry does not list row by row: read the books again.
MANY_ACTIONS = ("import", "import_members", "bulk_create", "bulk_transition")
MAX_RECORDS = 200_000  # about 20 classes of 45 students' books
_CHUNK = 500


@dataclass
class _Class:
    """One class's books as read: record → (owner, its keys), key → the records holding it, and what they reflect."""

    marker: tuple[Any, ...]
    watermark: int
    seen: int
    rows: dict[Record, tuple[int, frozenset[Key]]] = field(default_factory=dict)
    holding: dict[Key, set[Record]] = field(default_factory=dict)

    def drop(self, record: Record) -> None:
        """Forget a record (no longer in a book)."""
        old = self.rows.pop(record, None)
        if old is None:
            return
        for key in old[1]:
            holders = self.holding.get(key)
            if holders is not None:
                holders.discard(record)
                if not holders:
                    del self.holding[key]

    def put(self, record: Record, owner: int, keys: frozenset[Key]) -> None:
        """Keep a record's owner and keys (replacing what was kept of it)."""
        self.drop(record)
        for key in keys:
            self.holding.setdefault(key, set()).add(record)
        self.rows[record] = (owner, keys)


_LOCK = threading.Lock()
_KEPT: weakref.WeakKeyDictionary[Any, OrderedDict[int, _Class]] = weakref.WeakKeyDictionary()


def forget() -> None:
    """Drop everything kept (the next visit reads the books again)."""
    with _LOCK:
        _KEPT.clear()


def _marker(class_id: int, starts: dict[int, datetime], upto: int | None) -> tuple[int, tuple[Any, ...], int]:
    """(the newest log entry id, read first; the class's runs as they stand, which a load, a reset of the class or of
    one student and an undo change, with the students and the start of their counting run; on PostgreSQL, the
    class's entries up to `upto`, else up to the newest: see _seen), in one statement."""
    newest = select(func.max(LogEntry.id)).scalar_subquery()
    columns = [
        newest,
        select(Run.id).where(Run.class_id == class_id).order_by(Run.id.desc()).limit(1).scalar_subquery(),
        select(func.count(Run.id)).where(Run.class_id == class_id, Run.undone_at.is_not(None)).scalar_subquery(),
    ]
    if db.session.connection().dialect.name == "postgresql":
        columns.append(select(func.count()).select_from(LogEntry).where(
            LogEntry.id <= (upto if upto is not None else newest), _class_entries(class_id)).scalar_subquery())
    row = db.session.execute(select(*columns).execution_options(skip_visibility=True)).one()
    return row[0] or 0, (row[1], row[2], tuple(sorted(starts.items()))), row[3] if len(row) > 3 else 0


def _class_entries(class_id: int) -> Any:
    return or_(LogEntry.class_id == class_id, LogEntry.class_id.is_(None))


def _seen_of(kept: _Class | None) -> int | None:
    """Up to which entry the kept books' entries are counted (PostgreSQL may commit a lower entry id after a higher
    one: the class's entries up to the watermark, counted when it was set, tell when that happened)."""
    return kept.watermark if kept is not None else None


def book_values(class_id: int, starts: dict[int, datetime], normalise: Any, wanted: dict[str, set[str]] | None,
                acted: dict[str, set[int]] | None) -> tuple[dict[str, dict[str, set[int]]], dict[Record, int]]:
    """(kind → normalised value → its holders, generated record → owner) of these students' books (`starts`: owner →
    the start of their counting run; a record is in the book when made before it), values normalised by
    `normalise(kind, value)`. Only the `wanted` keys are answered and only the `acted` records (record type → ids)
    listed; None: all of them."""
    engine = db.engine
    with _LOCK:
        classes = _KEPT.setdefault(engine, OrderedDict())
        kept = classes.pop(class_id, None)  # put back only once brought up to date (a failed read keeps nothing)
        # The newest entry is read before anything else: see the docstring.
        newest, marker, seen = _marker(class_id, starts, _seen_of(kept))
        changed = None
        if kept is not None and kept.marker == marker and seen == kept.seen:
            changed = _changed_since(kept, class_id, newest)
        if kept is None or changed is None:
            kept = _Class(marker, newest, seen if _seen_of(kept) is None else _count(class_id, newest))
            _read(kept, class_id, starts, normalise, None)
        else:
            touched, kept.seen = changed
            _read(kept, class_id, starts, normalise, touched)
            kept.watermark = newest
        classes[class_id] = kept
        _trim(classes)
        return _answer(kept, wanted, acted)


def _count(class_id: int, upto: int) -> int:
    """The class's entries up to `upto` on PostgreSQL (0 on SQLite, which commits entries in id order)."""
    if db.session.connection().dialect.name != "postgresql":
        return 0
    return db.session.scalar(select(func.count()).select_from(LogEntry).where(
        LogEntry.id <= upto, _class_entries(class_id)).execution_options(skip_visibility=True)) or 0


def _changed_since(kept: _Class, class_id: int, newest: int) -> tuple[dict[str, set[int]], int] | None:
    """(the records the entries since the watermark changed, type → ids; the entries counted up to `newest`: see
    _seen_of); None: read everything again."""
    touched: dict[str, set[int]] = {}
    if newest <= kept.watermark:
        return touched, kept.seen
    rows = db.session.execute(
        select(LogEntry.verb, LogEntry.object_type, LogEntry.object_id, LogEntry.changes)
        .where(LogEntry.id > kept.watermark, LogEntry.id <= newest, _class_entries(class_id))
        .execution_options(skip_visibility=True)).all()  # kept for every reader: the whole log
    for verb, object_type, object_id, changes in rows:
        noun, _dot, action = (verb or "").partition(".")
        if noun == "scenario" or action in MANY_ACTIONS:
            return None
        if not isinstance(changes, dict):
            continue  # nothing audited changed
        if changes.get("action") is not None and object_type in MODELS and object_id is not None:
            touched.setdefault(object_type, set()).add(object_id)
        for related in changes.get("related") or []:
            kind, ident = (related.get("type"), related.get("id")) if isinstance(related, dict) else (None, None)
            if kind in MODELS and isinstance(ident, int):
                touched.setdefault(kind, set()).add(ident)
    # Exactly the entries read: one committed later below `newest` makes the next count differ.
    return touched, kept.seen + len(rows) if db.session.connection().dialect.name == "postgresql" else 0


def _read(kept: _Class, class_id: int, starts: dict[int, datetime], normalise: Any,
          only: dict[str, set[int]] | None) -> None:
    """Read the books (or only these records) and keep each generated record's owner and normalised values."""
    students = sorted(starts)
    latest = max(starts.values())
    for kind, model in MODELS.items():
        kinds = list(BOOK_FIELDS[model].values())
        columns = [getattr(model, name) for name in BOOK_FIELDS[model]]
        if only is None:
            # A system computation over the whole class: every student's book, scoped by class explicitly.
            chunks = [[model.class_id == class_id, model.owner_id.in_(students), model.created_at < latest]]
        else:
            ids = sorted(only.get(kind, ()))
            chunks = [[model.id.in_(ids[i:i + _CHUNK])] for i in range(0, len(ids), _CHUNK)]
        normalised: dict[tuple[str, Any], str | None] = {}  # a value seen twice (a common company) is normalised once
        for where in chunks:
            found: set[int] = set()
            stmt = (select(model.id, model.class_id, model.owner_id, model.created_at, *columns).where(*where)
                    .execution_options(skip_visibility=True))
            for ident, record_class, owner, created_at, *values in db.session.execute(stmt):
                found.add(ident)
                start = starts.get(owner)
                if record_class != class_id or start is None or created_at >= start:
                    kept.drop((kind, ident))  # not a generated record of this class's students (now)
                    continue
                keys = set()
                for value_kind, value in zip(kinds, values, strict=True):
                    if value is None:
                        continue
                    if (value_kind, value) in normalised:
                        key = normalised[(value_kind, value)]
                    else:
                        key = normalised[(value_kind, value)] = normalise(value_kind, value)
                    if key is not None:
                        keys.add((value_kind, key))
                kept.put((kind, ident), owner, frozenset(keys))
            if only is not None:
                for ident in set(only.get(kind, ())) - found:
                    kept.drop((kind, ident))  # gone


def _answer(kept: _Class, wanted: dict[str, set[str]] | None,
            acted: dict[str, set[int]] | None) -> tuple[dict[str, dict[str, set[int]]], dict[Record, int]]:
    values: dict[str, dict[str, set[int]]] = {}
    rows = kept.rows
    if wanted is None:
        for owner, keys in rows.values():
            for kind, key in keys:
                values.setdefault(kind, {}).setdefault(key, set()).add(owner)
        return values, {record: owner for record, (owner, _keys) in rows.items()}
    for kind, keys in wanted.items():
        for key in keys:
            found = kept.holding.get((kind, key))
            if found:
                values.setdefault(kind, {})[key] = {rows[record][0] for record in found}
    records = {(kind, ident): row[0] for kind, ids in (acted or {}).items() for ident in ids
               if (row := rows.get((kind, ident))) is not None}
    return values, records


def _trim(classes: OrderedDict[int, _Class]) -> None:
    """Drop the least recently used classes beyond MAX_RECORDS kept records (never the one just used)."""
    total = sum(len(c.rows) for c in classes.values())
    while total > MAX_RECORDS and len(classes) > 1:
        _class_id, dropped = classes.popitem(last=False)
        total -= len(dropped.rows)
