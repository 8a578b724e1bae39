"""Export of exactly the filtered list (same conditions and order as the list page) as CSV or XLSX.

The rows come through the visibility rule like the list itself; picklist codes become labels in the UI
language; every text cell is escaped against formula injection; each export is a logged operation.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flask import Response, g, request
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import select

from ..codes.services import label as code_label
from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..org.models import utcnow
from .display import display_value
from .export import safe_cell

EXPORT_CAP = 100_000
CHUNK = 1000


class RecordSet:
    """Stands for "many records of one type" as the object of a log entry (export, import)."""

    __audit_type__ = "record"

    def __init__(self, label: str) -> None:
        self.audit_label = label
        self.id = None
        self.class_id = None


_SETS: dict[str, type[RecordSet]] = {}


def record_set(audit_type: str, label: str) -> RecordSet:
    """A RecordSet whose log entries carry `audit_type` as their object type (the log filters on it)."""
    if audit_type not in _SETS:
        _SETS[audit_type] = type(f"RecordSet_{audit_type}", (RecordSet,), {"__audit_type__": audit_type})
    return _SETS[audit_type](label)


def columns(record_type: Any) -> list[tuple[str, str]]:
    """(attribute, translated header) of every exported column: id, the detail fields, owner, created."""
    return [("id", "ID"), *((f, record_type.field_label(f)) for f in record_type.detail_fields),
            ("owner", _("Owner")), ("created_at", _("Created"))]


def _local(value: datetime) -> datetime:
    """A stored (naive UTC) time in the user's time zone, naive again for spreadsheets."""
    return to_user_timezone(value.replace(tzinfo=UTC) if value.tzinfo is None else value).replace(tzinfo=None)


def _value(v: Any, obj: Any, attr: str) -> Any:
    """The typed value of one cell (None for empty); labels for picklists and references."""
    record_type = v.record_type
    if attr == "owner":
        return obj.owner.display_name
    value = getattr(obj, attr, None)
    if value is None or value == "":
        return None
    if attr in record_type.codes:
        return code_label(record_type.codes[attr], value, getattr(obj, "class_id", None))
    if attr in record_type.references:
        return g.get("reference_labels", {}).get((record_type.references[attr].__tablename__, value))
    if isinstance(value, datetime):
        return _local(value)
    if v.custom_display:
        # A type that shows a field its own way (a category path, Yes/No…) exports it the same way.
        shown = v.display(obj, attr)
        if shown != display_value(record_type, obj, attr):
            return Markup(shown).striptags() if isinstance(shown, Markup) else shown
    return value


def rows(v: Any, args: Any) -> Iterator[list[Any]]:
    """The list's rows (its filters, search and sort; no paging; capped), as typed cell values.

    `v` is the type's list (its views): the export is exactly what its list page shows, filters included.
    """
    order, _sort = v.order(args)
    stmt = (select(v.model).where(*v.conditions(args)).order_by(*order).limit(EXPORT_CAP)
            .execution_options(yield_per=CHUNK))
    attrs = [a for a, _label in columns(v.record_type)]
    for chunk in db.session.scalars(stmt).partitions():
        v.prime_rows(chunk)
        for obj in chunk:
            yield [_value(v, obj, a) for a in attrs]


def _text(value: Any) -> str:
    """A cell as CSV text (dates in ISO form, empty for None)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def to_csv(v: Any, args: Any) -> tuple[bytes, int]:
    """UTF-8 with a BOM (so Excel reads the Chinese text), formula-escaped; returns (bytes, row count)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for _a, h in columns(v.record_type)])
    count = 0
    for row in rows(v, args):
        writer.writerow([safe_cell(_text(c)) for c in row])
        count += 1
    return out.getvalue().encode("utf-8"), count


def _xlsx_cell(value: Any) -> Any:
    """A cell as openpyxl stores it safely."""
    if isinstance(value, str):
        # openpyxl refuses control characters and would store "=..." as a live formula.
        return safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    if isinstance(value, bool | int | float | Decimal | date | datetime) or value is None:
        return value
    return safe_cell(str(value))


def to_xlsx(v: Any, args: Any) -> tuple[bytes, int]:
    """One sheet: a header row of translated labels, then typed cells; returns (bytes, row count)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=str(v.plural)[:31] or "export")
    ws.append([_xlsx_cell(h) for _a, h in columns(v.record_type)])
    count = 0
    for row in rows(v, args):
        ws.append([_xlsx_cell(c) for c in row])
        count += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), count


@operation(lambda v, fmt, count, filename: f"{v.model.__audit_type__}.export")
def log_export(v: Any, fmt: str, count: int, filename: str) -> None:
    """Record an export (it changes nothing, but the log lists exports: SPEC §8.1)."""
    op = current_op()
    op.target(record_set(v.model.__audit_type__, filename))
    op.params.update(count=count, format=fmt, type=v.model.__audit_type__)  # the type's name is rendered when read


MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def export_response(v: Any, fmt: str) -> Response:
    """Build the file of the list as filtered by the query string, log the export, send it."""
    args = request.args
    data, count = to_csv(v, args) if fmt == "csv" else to_xlsx(v, args)
    filename = f"{v.bp.name}-{utcnow():%Y%m%d-%H%M}.{fmt}"
    log_export(v, fmt, count, filename)  # committed by the request boundary (a POST answered 200)
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


register_verbs({
    "lead.export": N_("exported %(count)s leads"),
    "account.export": N_("exported %(count)s accounts"),
    "contact.export": N_("exported %(count)s contacts"),
    "opportunity.export": N_("exported %(count)s opportunities"),
    "lead.import": N_("imported %(count)s leads"),
    "account.import": N_("imported %(count)s accounts"),
    "contact.import": N_("imported %(count)s contacts"),
    "opportunity.import": N_("imported %(count)s opportunities"),
})


def register_generic_verbs(audit_type: str) -> None:
    """Summaries for a record type registered later without its own wording."""
    from ..oplog import VERBS

    if f"{audit_type}.export" not in VERBS:
        register_verbs({f"{audit_type}.export": N_("exported %(count)s records (%(type)s)")})
    if f"{audit_type}.import" not in VERBS:
        register_verbs({f"{audit_type}.import": N_("imported %(count)s records (%(type)s)")})
