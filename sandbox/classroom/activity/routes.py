"""GET /grading/activity: actions per student per 10 minutes, who has gone quiet, integrity hints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from flask_login import current_user
from markupsafe import Markup, escape

from ...numbers import db_id
from ...org.models import User
from .. import grading_bp
from ..models import Run
from ..objectives.integrity import BURST_GAP, BURST_MIN, COMMON_BOOKS, TEXT_MIN, UNDO_MIN
from ..permissions import class_or_404, default_class, readable_classes, refuse_students
from ..runs.lookup import class_runs, class_students, current_class_run
from .class_log import BUCKET_MINUTES, activity_series, class_log, heat_levels, inactive_students, integrity_hints, is_live
from .class_log import summary as activity_summary

DEFAULT_MINUTES = 15
MAX_MINUTES = 7 * 24 * 60


def _minutes(raw: str | None, problems: list[str]) -> int:
    """The inactivity threshold asked for, or the default with a message saying why."""
    if raw is None or raw.strip() == "":
        return DEFAULT_MINUTES
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if 1 <= value <= MAX_MINUTES:
        return value
    problems.append(_("“%(value)s” is not a number of minutes between 1 and %(max)d; showing students inactive for "
                      "%(default)d minutes.", value=raw[:40], max=MAX_MINUTES, default=DEFAULT_MINUTES))
    return DEFAULT_MINUTES


def _run(runs: list[Run], raw: str | None, class_id: int, problems: list[str]) -> Run | None:
    """The class run asked for, else the one in force (else the newest)."""
    if raw:
        wanted = {str(r.id): r for r in runs}.get(raw.strip())
        if wanted is not None:
            return wanted
        problems.append(_("This class has no run “%(value)s”; showing the current one.", value=raw[:40]))
    return current_class_run(class_id) or (runs[0] if runs else None)


def _labels(buckets: list[datetime]) -> list[str]:
    """Bucket starts in the user's time zone: the time, with the day when the run spans several days."""
    # Each bucket converted once and formatted with strftime (what Babel's "MM-dd HH:mm" / "HH:mm" give: digits,
    # zero-padded). Buckets are in time order, so their local days are too: several days iff first and last differ.
    local = [to_user_timezone(b) for b in buckets]
    with_day = len(local) > 1 and local[0].date() != local[-1].date()
    pattern = "%m-%d %H:%M" if with_day else "%H:%M"
    return [at.strftime(pattern) for at in local]


def _heat_cell_maker(labels: list[str]) -> Callable[[int, int, int], str]:
    """A function (column, count, shade) → the heat table's cell, as HTML: the table has students × buckets cells,
    so each is one f-string, its column's label escaped once per page and empty cells built once per column."""
    titles = [str(escape(label)) for label in labels]
    empty = [f'<td class="heat-cell heat-0" title="{title} · 0"></td>' for title in titles]

    def cell(column: int, count: int, level: int) -> str:
        if not count:
            return empty[column] if level == 0 else f'<td class="heat-cell heat-{level}" title="{titles[column]} · {count}"></td>'
        return f'<td class="heat-cell heat-{level}" title="{titles[column]} · {count}">{count}</td>'

    return cell


def _student_links(root: str) -> Callable[[User], Markup]:
    """student → `<a>` to their drill-down page, built once per student per page (the page names each student
    in the heat table, the quiet list and the hints)."""
    prefix = f'<a href="{escape(root)}/grading/students/'
    links: dict[int, Markup] = {}

    def student_link(student: User) -> Markup:
        link = links.get(student.id)
        if link is None:
            link = links[student.id] = Markup(f'{prefix}{student.id}">{escape(student.display_name)}</a>')
        return link

    return student_link


@grading_bp.get("/activity")
def activity() -> str:
    """The class activity page of one class run."""
    refuse_students()
    problems: list[str] = []
    if request.args.get("class_id", "").strip():
        klass = class_or_404(request.args.get("class_id", type=db_id))
    else:
        klass = default_class() or abort(404)
    minutes = _minutes(request.args.get("minutes"), problems)
    runs = class_runs(klass.id)
    run = _run(runs, request.args.get("run"), klass.id, problems)
    context = {"klass": klass, "classes": readable_classes(current_user), "runs": runs, "run": run, "minutes": minutes,
               "problems": problems}
    if run is None:
        return render_template("classroom/activity.html", **context)
    students = class_students(klass.id)
    log = class_log(run, students)
    live = is_live(run)
    buckets, series = activity_series(run, students, BUCKET_MINUTES, log=log, live=live)
    labels = _labels(buckets)
    chart = {
        "labels": labels,
        "datasets": [{"label": s.display_name, "data": series[s.id]} for s in students if any(series[s.id])],
        "title": _("Actions per student per %(n)d minutes", n=BUCKET_MINUTES),
        "axis": _("Actions"),
    }
    cell = _heat_cell_maker(labels)
    rows = [{"student": s, "counts": series[s.id], "levels": (levels := heat_levels(series[s.id])),
             "cells": Markup("".join(map(cell, range(len(labels)), series[s.id], levels))),
             "total": sum(series[s.id]), "last": log.last_at(s.id)} for s in students]
    context.update(
        student_link=_student_links(request.script_root),
        students=students, live=live, labels=labels, rows=rows, stats=activity_summary(buckets, series),
        chart=chart, inactive=inactive_students(run, students, minutes, log=log),
        hints=integrity_hints(run, students, log=log), bucket_minutes=BUCKET_MINUTES,
        rules={"burst_min": BURST_MIN, "burst_gap": BURST_GAP.total_seconds(), "text_min": TEXT_MIN,
               "common": COMMON_BOOKS, "undo_min": UNDO_MIN},
    )
    return render_template("classroom/activity.html", **context)

