"""Writing checked import rows: one `<type>.import` operation per file, rows inserted in batches."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import insert

from ..extensions import db
from ..oplog import current_op, operation
from . import services
from .exporting import record_set
from .importing import ImportCheck, RowError

BATCH = 500


class ImportAborted(RuntimeError):
    """A row failed the record type's own service rules while nothing may be imported on errors."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} rows refused")
        self.errors = errors


def _verb(v: Any, *args: Any, **kwargs: Any) -> str:
    return f"{v.model.__audit_type__}.import"


@operation(_verb)
def import_rows(v: Any, rows: list[tuple[int, dict[str, Any]]], label: str,
                progress: Callable[[int], Any] | None = None) -> tuple[int, list[RowError]]:
    """Create the records of checked rows, owned by the acting user; returns (count, rows refused).

    Types on the generic create service are inserted in batches with ONE log entry for the file
    (params: count, first and last id); types with their own create service (parent checks, stage
    history…) go through it row by row, each row then also logging its own create, and any row it
    refuses raises ImportAborted (nothing of this try may be kept).
    """
    actor = services._acting_user()
    if not actor.can_change:
        raise services.NotAllowed("read-only")
    op = current_op()
    op.source = "import"  # the rows' own create entries inherit it: grading tells imported work from typed work
    ids: list[int] = []
    refused: list[RowError] = []
    if v.create_service is services.create_record:
        model = v.model
        stamp = {"owner_id": actor.id, "class_id": actor.class_id, "created_by_id": actor.id}
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
                ids.append(v.create_service(v.model, data).id)
            except services.RecordError as exc:
                refused.append(RowError(line, v.field_label(exc.field) if exc.field else "—", exc.message))
            if progress is not None:
                progress(1)
        if refused:
            raise ImportAborted(refused)
    op.target(record_set(v.model.__audit_type__, label))
    op.params.update(count=len(ids), type=v.model.__audit_type__, first_id=min(ids, default=None),
                     last_id=max(ids, default=None))
    op.class_id = actor.class_id
    return len(ids), refused


def run_import(v: Any, check: ImportCheck, good_rows_only: bool, label: str,
               progress: Callable[[int], Any] | None = None) -> tuple[int, list[RowError]]:
    """Import what the user chose: nothing if any row has errors (default), or only the good rows.

    The caller commits (or rolls back on ImportAborted). For types imported row by row through their
    own service, rows it refuses are only known by trying: with "good rows only" a first try that
    hits refusals is rolled back and the rest is imported in a second try.
    """
    if not check.rows or (check.errors and not good_rows_only):
        return 0, []
    try:
        return import_rows(v, check.rows, label, progress=progress)
    except ImportAborted as exc:
        if not good_rows_only:
            raise
        db.session.rollback()
        refused = {e.line for e in exc.errors}
        rest = [(line, data) for line, data in check.rows if line not in refused]
        if not rest:
            return 0, exc.errors
        count, _none = import_rows(v, rest, label)
        return count, exc.errors
