"""Grade exports (CSV and XLSX): one row per student with each objective's points, the total and the maximum.

The web export and `sandbox grades export` build the same rows here. Text cells are escaped against
formula injection; each export is a logged operation (SPEC §8.1 lists exports).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ...clock import utcnow
from ...i18n import N_
from ...oplog import current_op, operation, register_verbs
from ...records.export import safe_cell
from ..runs.lookup import class_runs, current_class_run
from .gradebook import Gradebook, gradebook
from .view import format_points, pick

FORMATS = ("csv", "xlsx")
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def header(book: Gradebook) -> list[str]:
    """Translated column names; an objective's column is its title (in the UI language) and its points."""
    objectives = [f"{pick(o.title)} ({o.points})" for o in book.objectives]
    return [_("Username"), _("Name"), _("Student number"), _("Department"), *objectives, _("Total"), _("Max")]


def rows(book: Gradebook) -> list[list[Any]]:
    """One typed row per student (points as Decimal), in the gradebook's order."""
    out = []
    for row in book.rows:
        s = row.student
        out.append([s.username, s.display_name, s.student_number or "", row.department.name if row.department else "",
                    *(row.cells[o.id].points for o in book.objectives), row.total, book.max_total])
    return out


def to_csv(book: Gradebook) -> bytes:
    """UTF-8 with a BOM (Excel reads the Chinese text), formula-escaped."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header(book)])
    for row in rows(book):
        writer.writerow([format_points(c) if isinstance(c, Decimal) else safe_cell(str(c)) for c in row])
    return out.getvalue().encode("utf-8")


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        # openpyxl refuses control characters and would store "=..." as a live formula.
        return safe_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def to_xlsx(book: Gradebook) -> bytes:
    """One sheet: the header row, then numbers for points (a spreadsheet can sum them)."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=_("Grades")[:31])
    ws.append([_xlsx_cell(h) for h in header(book)])
    for row in rows(book):
        ws.append([_xlsx_cell(c) for c in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render(book: Gradebook, fmt: str) -> bytes:
    """The file in `fmt` (csv or xlsx)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected csv or xlsx")
    return to_csv(book) if fmt == "csv" else to_xlsx(book)


def filename(book: Gradebook, fmt: str) -> str:
    """An ASCII file name: grades-<scenario>-run<id>-<date>.<fmt>."""
    safe = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "-" for ch in book.class_run.scenario_name)
    return f"grades-{safe}-run{book.class_run.id}-{utcnow():%Y%m%d-%H%M}.{fmt}"


@operation("grade.export")
def log_grade_export(book: Gradebook, fmt: str) -> None:
    """Record a grade export in the class's log (it changes nothing)."""
    op = current_op()
    op.class_id, op.run_id = book.class_run.class_id, book.class_run.id
    op.target(book.class_run, count=len(book.rows), format=fmt)


def export(book: Gradebook, fmt: str) -> bytes:
    """The file, with its log entry (the download is a POST: the request boundary commits the entry)."""
    data = render(book, fmt)
    log_grade_export(book, fmt)
    return data


def run_cli_export(klass: Any, fmt: str, output: Path, run_id: int | None, fail: Callable[[str], None]) -> str:
    """`sandbox grades export`: write the file of a class run (the current one unless `run_id`), log it; a summary."""
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        fail(f"--format: expected csv or xlsx, got {fmt!r}")
    if run_id is not None:
        runs = class_runs(klass.id)
        run = next((r for r in runs if r.id == run_id), None)
        if run is None:
            fail(f"{klass.name} has no class run #{run_id} (its runs: {', '.join(str(r.id) for r in runs) or 'none'})")
    else:
        run = current_class_run(klass.id)
        if run is None:
            fail(f"no scenario has been loaded into {klass.name} yet: nothing to export")
    book = gradebook(run)
    data = render(book, fmt)
    try:
        output.write_bytes(data)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    log_grade_export(book, fmt)
    return f"{output}: {len(book.rows)} students, {len(book.objectives)} objectives, run #{run.id} ({run.scenario_name})"


register_verbs({"grade.export": N_("exported the grades of %(count)s students of run %(label)s (%(format)s)")})
