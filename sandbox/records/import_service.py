"""Importing a file: parse, check and write its rows (one `<type>.import` operation, rows in batches).

Shared by the web import (import_views.py) and the CLI (import_cli.py); needs no request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert

from .. import faults
from ..errors import ServiceError
from ..extensions import db
from ..oplog import current_op, operation
from . import import_columns, importing, services
from .exporting import record_set
from .import_aliases import IGNORE
from .importing import ImportCheck, RowError

BATCH = 500
SHOWN_ERRORS = 500


class ImportAborted(ServiceError):
    """A row failed the record type's own service rules while nothing may be imported on errors."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(_("%(n)d rows were refused; nothing was imported.", n=len(errors)))
        self.errors = errors


def _verb(rt: Any, *args: Any, **kwargs: Any) -> str:
    """The log verb of an import of this type ("lead.import")."""
    return f"{rt.name}.import"


def _cleaned(rt: Any, rows: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """The rows through the type's clean(); any row it refuses aborts the import with every refusal listed."""
    cleaned, refused = [], []
    for line, data in rows:
        try:
            cleaned.append((line, rt.clean(data)))
        except services.RecordError as exc:
            refused.append(RowError(line, rt.field_label(exc.field) if exc.field else "—", exc.message))
    if refused:
        raise ImportAborted(refused)
    return cleaned


@operation(_verb)
def import_rows(rt: Any, rows: list[tuple[int, dict[str, Any]]], label: str,
                progress: Callable[[int], Any] | None = None) -> tuple[int, list[RowError]]:
    """Create the records of checked rows, owned by the acting user; returns (count, rows refused).

    Types on the generic create service are inserted in batches with ONE log entry for the file
    (params: count, first and last id); types with their own create service (parent checks, stage
    history…) go through it row by row, each row then also logging its own create, and any row it
    refuses raises ImportAborted (nothing of this try may be kept).
    """
    actor = services.acting_user()
    if not actor.can_change:
        raise services.NotAllowed("read-only")
    op = current_op()
    op.source = "import"  # the rows' own create entries inherit it: grading tells imported work from typed work
    ids: list[int] = []
    refused: list[RowError] = []
    if rt.create is None:  # the generic create service, with the type's clean() if it has one
        model = rt.model
        stamp = {"owner_id": actor.id, "class_id": actor.class_id, "created_by_id": actor.id}
        if rt.clean is not None:
            rows = _cleaned(rt, rows)
        for start in range(0, len(rows), BATCH):
            batch = [{**data, **stamp} for _line, data in rows[start:start + BATCH]]
            # An ORM bulk INSERT (executemany, no unit of work): the per-record change capture of a
            # flush would cost more than the insert itself, and this one entry stands for the file.
            ids += db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), batch).all()
            if progress is not None:
                progress(len(batch))
    else:
        for line, data in rows:
            # No savepoint per row (SQLite's driver commits a SAVEPOINT that opens the transaction):
            # a refused row aborts the whole operation, and run_import retries without the refused rows.
            try:
                ids.append(rt.create_service(rt.model, data).id)
            except services.RecordError as exc:
                refused.append(RowError(line, rt.field_label(exc.field) if exc.field else "—", exc.message))
            if progress is not None:
                progress(1)
        if refused:
            raise ImportAborted(refused)
    op.target(record_set(rt.name, label))
    op.params.update(count=len(ids), type=rt.name, first_id=min(ids, default=None),
                     last_id=max(ids, default=None))
    op.class_id = actor.class_id
    return len(ids), refused


def run_import(rt: Any, check: ImportCheck, good_rows_only: bool, label: str,
               progress: Callable[[int], Any] | None = None) -> tuple[int, list[RowError]]:
    """Import what the user chose: nothing if any row has errors (default), or only the good rows.

    Returns (imported count, rows refused by the type's own service). For types imported row by row
    through their own service, rows it refuses are only known by trying: a first try that hits
    refusals is rolled back; with "good rows only" the rest is imported in a second try. The request
    boundary (or the CLI) commits.
    """
    if not check.rows or (check.errors and not good_rows_only):
        return 0, []
    try:
        return import_rows(rt, check.rows, label, progress=progress)
    except ImportAborted as exc:
        db.session.rollback()  # nothing of this try may be kept (the request's earlier changes are kept by the caller)
        if not good_rows_only:
            return 0, exc.errors
        refused = {e.line for e in exc.errors}
        rest = [(line, data) for line, data in check.rows if line not in refused]
        if not rest:
            return 0, exc.errors
        count, _none = import_rows(rt, rest, label)
        return count, exc.errors


@dataclass
class ImportResult:
    """What the result page (or the CLI) reports."""

    total: int = 0
    imported: int = 0
    bad_rows: int = 0
    seconds: float = 0.0
    good_rows_only: bool = False
    errors: list[RowError] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    mapped: list[tuple[str, str]] = field(default_factory=list)  # header, the field it filled (not exact ones)

    @property
    def shown_errors(self) -> list[RowError]:
        """The first errors, as many as a page shows."""
        return self.errors[:SHOWN_ERRORS]


def import_file(rt: Any, data: bytes, filename: str, good_rows_only: bool, chosen: dict[int, str] | None = None,
                remembered_columns: dict[str, str] | None = None) -> ImportResult:
    """Parse, check and import one file (the caller has set who acts).

    Raises ImportFileError (ColumnsNeeded when columns are not mapped) when the file cannot be used as is.
    """
    started = time.perf_counter()
    parsed = importing.parse(rt, data, filename, remembered_columns, chosen)
    check = importing.validate(rt, parsed)
    result = finish(rt, check, filename, good_rows_only, started)
    result.mapped = [(c.header, import_columns.target_label(rt, c.target)) for c in parsed.columns
                     if c.how not in ("exact", "") and c.target != IGNORE]
    return result


def finish(rt: Any, check: ImportCheck, filename: str, good_rows_only: bool, started: float,
           progress: Any = None) -> ImportResult:
    """Import the checked rows as the user chose and sum up (shared with the CLI)."""
    result = ImportResult(total=check.total, good_rows_only=good_rows_only, errors=list(check.errors),
                          ignored=check.ignored)
    count, refused = run_import(rt, check, good_rows_only, filename, progress=progress)
    if count:
        db.session.flush()  # the rows are in the database, not yet committed, when a crash test stops here
        faults.checkpoint("import.inserted")
    result.errors = sorted(result.errors + refused, key=lambda e: e.line)
    result.imported = count
    result.bad_rows = len({e.line for e in result.errors})
    result.seconds = time.perf_counter() - started
    return result
