"""Operation log: filter by student, action, record type and time; export as CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, func, select

from ..classroom.permissions import readable_classes
from ..classroom.runs.lookup import run_family, runs_for_log
from ..extensions import db
from ..numbers import db_id, page_number
from ..oplog import VERBS, LogEntry
from ..records.export import safe_cell
from . import bp
from .render import iso_local, render_entries, type_label, verb_label

PAGE = 100


def _date(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d") if value else None
    except ValueError:
        return None


def filtered(args: Any) -> tuple[Select, list[str]]:
    """The viewer's entries narrowed by the query string; bad values are reported, not fatal."""
    stmt = select(LogEntry)  # the log's read rule (access.log_criterion) is added to every query of it
    problems: list[str] = []
    if actor := args.get("actor", type=db_id):
        stmt = stmt.where(LogEntry.actor_id == actor)
    if verb := args.get("verb"):
        stmt = stmt.where(LogEntry.verb == verb)
    if object_type := args.get("object_type"):
        stmt = stmt.where(LogEntry.object_type == object_type)
    raw_run = (args.get("run") or "").strip()
    if raw_run:
        if raw_run.isdigit() and len(raw_run) < 10:
            stmt = stmt.where(LogEntry.run_id.in_(run_family(int(raw_run))))
        else:
            problems.append(_("“%(v)s” is not a scenario run; the run filter was ignored.", v=raw_run[:40]))
    for key, op in (("from", "ge"), ("to", "lt")):
        raw = args.get(key)
        if raw:
            day = _date(raw)
            if day is None:
                problems.append(_("Dates are written YYYY-MM-DD; “%(v)s” was ignored.", v=raw))
            elif op == "ge":
                stmt = stmt.where(LogEntry.at >= day)
            else:
                stmt = stmt.where(LogEntry.at < day + timedelta(days=1))
    return stmt, problems


@bp.get("/")
def index() -> str:
    """The operation log the viewer may read, filtered and paged."""
    stmt, problems = filtered(request.args)
    page = page_number(request.args)
    entries = db.session.scalars(stmt.order_by(LogEntry.id.desc()).limit(PAGE).offset((page - 1) * PAGE)).all()
    total = db.session.scalar(select(func.count()).select_from(stmt.limit(10_001).subquery())) or 0
    visible = select(LogEntry.actor_id, LogEntry.actor_label)
    actors = db.session.execute(visible.where(LogEntry.actor_id.is_not(None)).distinct().order_by(LogEntry.actor_label)).all()
    types = sorted(
        ((t, type_label(t)) for t in db.session.scalars(
            select(LogEntry.object_type).distinct()) if t),
        key=lambda pair: pair[1],
    )
    verbs = sorted(((v, verb_label(v)) for v in VERBS), key=lambda pair: pair[1])
    return render_template(
        "log/index.html", entries=entries, total=total, page=page, size=PAGE, problems=problems,
        actors=actors, verbs=verbs, types=types, runs=_runs(),
    )


def _runs() -> list[Any]:
    """Scenario runs the viewer can filter by: their class's, or the classes they teach or observe."""
    classes = [c.id for c in readable_classes(current_user)]
    if current_user.class_id is not None and current_user.class_id not in classes:
        classes.append(current_user.class_id)
    return runs_for_log(classes)


@bp.get("/export.csv")
def export_csv() -> Response:
    """The filtered log as CSV (codes plus texts in the reader's language)."""
    stmt, _problems = filtered(request.args)
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
    writer = csv.writer(out)
    # Machine-readable columns keep codes (verb, object_type, changes as JSON); `at` is ISO 8601 in the
    # configured time zone with its offset; `action` and `summary` are rendered in the reader's language.
    writer.writerow(["id", "at", "actor", "role", "verb", "action", "summary", "object_type", "object_id", "class_id",
                     "run_id", "ip", "changes"])
    entries = db.session.scalars(stmt.order_by(LogEntry.id).limit(200_000)).all()
    for start in range(0, len(entries), 1000):  # names are looked up a thousand entries at a time
        for r in render_entries(entries[start:start + 1000]):
            e = r.entry
            writer.writerow([safe_cell(v) for v in (
                e.id, iso_local(e.at), e.actor_label or "", e.actor_role or "", e.verb, r.action, r.summary,
                e.object_type or "", e.object_id or "", e.class_id or "", e.run_id or "", e.ip or "",
                json.dumps(e.changes.get("fields", {}), ensure_ascii=False, sort_keys=True) if e.changes else "",
            )])
    return Response(
        out.getvalue(), mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=operation-log.csv"},
    )
