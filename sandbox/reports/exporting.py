"""A report's table as CSV or XLSX: the rows the page shows, labels in the reader's language, logged."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response
from openpyxl import Workbook

from ..clock import utcnow
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..records.export import safe_cell
from ..records.exporting import MIMETYPES, record_set
from .engine import Result

__all__ = ["MIMETYPES", "export_response", "table"]


def table(result: Result) -> list[list[Any]]:
    """Header row, one row per group, then the totals: typed values (numbers stay numbers)."""
    header = [result.group_label, *(str(m.label) for m in result.measures)]
    rows = [[r.label, *(r.values[m.key] for m in result.measures)] for r in result.rows]
    from flask_babel import gettext as _

    totals = [_("Total"), *(result.totals.get(m.key) for m in result.measures)]
    return [header, *rows, totals]


def _csv(result: Result) -> bytes:
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 (Chinese labels) only with the BOM
    writer = csv.writer(out)
    for row in table(result):
        writer.writerow(["" if c is None else safe_cell(c) if isinstance(c, str) else c for c in row])
    return out.getvalue().encode("utf-8")


def _xlsx(result: Result) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=str(result.report.title)[:31] or "report")
    for row in table(result):
        ws.append([safe_cell(c) if isinstance(c, str) else c for c in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@operation("report.export")
def log_export(result: Result, fmt: str, filename: str) -> None:
    """Record the export (the log lists exports: SPEC §8.1); the filters go with it."""
    op = current_op()
    op.target(record_set("report", filename))
    op.params.update(report=result.report.slug, format=fmt, rows=len(result.rows), filters=result.query.args())


def export_response(result: Result, fmt: str) -> Response:
    """The file, logged (committed by the request boundary: a POST answered 200)."""
    data = _csv(result) if fmt == "csv" else _xlsx(result)
    filename = f"report-{result.report.family}-{result.report.key}-{utcnow():%Y%m%d-%H%M}.{fmt}"
    log_export(result, fmt, filename)
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


register_verbs({"report.export": N_("exported the report %(report)s")})
