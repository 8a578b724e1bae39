"""The gradebook's student rows, written in Python: a class of 100 students × 8 objectives is 800 cells, and
drawing them through Jinja (a context lookup, a filter and a translation per cell) was two thirds of the page.

The markup is exactly what the template wrote before, whitespace included; every value that comes from a
user (names, usernames, student numbers, department names, the teacher's comment, the reasons) is escaped
with markupsafe, and the translated sentences are the same msgids, so the catalogue is unchanged.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from markupsafe import Markup, escape

from .gradebook import Gradebook, Row
from .view import bar_step, format_points, percent, state

_SENTINEL = 987654321  # a student id no roster has: its URL is built once and the id swapped in per row


def _student_urls(run_id: int) -> tuple[str, str]:
    """(before, after) the student id in the evidence page's URL of this run: one url_for for the whole table."""
    url = url_for("grading.student", student_id=_SENTINEL, run=run_id)
    before, after = url.split(f"/{_SENTINEL}", 1)
    return f"{before}/", after


def averages(book: Gradebook) -> tuple[list[Any], Any]:
    """Each objective's class average and the average total (the table's last line), summed as the template did."""
    rows = book.rows
    if not rows:
        return [], None
    per_objective = [sum((r.cells[o.id].points for r in rows), 0) / len(rows) for o in book.objectives]
    return per_objective, sum((r.total for r in rows), 0) / len(rows)


def gradebook_rows(book: Gradebook) -> list[Markup]:
    """Each row's `<tr>…</tr>` as the gradebook template drew it."""
    run = book.class_run
    datetime_filter = current_app.jinja_env.filters["datetime"]
    before, after = _student_urls(run.id)
    # As Jinja's gettext gives them: the translation is markup, only the values put into it are escaped.
    texts = {
        "evidence": Markup(_("Evidence and timeline")), "extended": Markup(_("extended")),
        "no_book_title": Markup(_("This student has no generated records in this run.")),
        "no_book": Markup(_("no book")), "total": Markup(_("Total")),
    }
    override_before, override_after = (Markup(part) for part in _("Set by the teacher: %(comment)s",
                                                                   comment="\x00").split("\x00", 1))
    objectives = [(o.id, escape(o.id), o.points) for o in book.objectives]
    return [_row(r, book, run, objectives, before, after, texts, datetime_filter, override_before, override_after)
            for r in book.rows]


def _row(r: Row, book: Gradebook, run: Any, objectives: list[tuple[str, Markup, int]], before: str, after: str,
         texts: dict[str, Any], datetime_filter: Any, override_before: Markup, override_after: Markup) -> Markup:
    # f-strings over escape()d values: Markup.format goes through a Python formatter, ten times slower.
    student = r.student
    pct = percent(r.total, book.max_total)
    note = str(escape(student.username))
    if student.student_number:
        note += f" · {escape(student.student_number)}"
    if r.deadline != run.deadline:
        note += (f' · <span class="text-primary" title="{escape(datetime_filter(r.deadline, "short"))}">'
                 f'{texts["extended"]}</span>')
    if student.id in book.without_book:
        note += (f' <span class="badge text-bg-warning" data-testid="no-book" title="{texts["no_book_title"]}">'
                 f'{texts["no_book"]}</span>')
    department = escape(r.department.name) if r.department else "—"
    parts = [f'<tr data-student="{escape(student.username)}">\n    <td class="sticky-name"><a href="'
             f'{escape(f"{before}{student.id}{after}")}" title="{texts["evidence"]}">{escape(student.display_name)}'
             f'</a>\n      <div class="small text-muted">{note}</div></td>\n    <td class="small dept-col">{department}'
             f'</td>\n    ']
    for ident, ident_html, maximum in objectives:
        cell = r.cells[ident]
        if cell.override:
            title, mark = f"{override_before}{escape(cell.override.comment)}{override_after}", " grade-override"
        else:
            title, mark = escape(cell.outcome.reason), ""
        parts.append(f'\n    \n    <td class="text-center" data-objective="{ident_html}"><span class="grade '
                     f'grade-{escape(state(cell.points, maximum))}{mark}"\n      title="{title}">'
                     f'{escape(format_points(cell.points))}</span></td>\n    ')
    parts.append(f'\n    <td class="text-end total-cell" data-testid="total">{escape(format_points(r.total))}\n      '
                 f'<div class="progress mini-bar mt-1" role="progressbar" aria-label="{texts["total"]}" '
                 f'aria-valuenow="{pct}" aria-valuemin="0" aria-valuemax="100"><div class="progress-bar '
                 f'pct-{bar_step(pct)}"></div></div></td>\n  </tr>')
    return Markup("".join(parts))
