"""An instructor's home: one class at a time — its run and deadline, approvals, progress spread, quiet students.

Built from the gradebook's batch grading (one query per objective for the whole class) and the class
activity's one read of the run's log, so the page costs the same handful of queries for 6 or 60 students.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..classroom.activity.class_log import class_log, inactive_students, is_live
from ..classroom.grading.gradebook import gradebook
from ..classroom.models import Run
from ..classroom.runs.lookup import class_students, current_class_run
from ..extensions import db
from ..oplog import LogEntry
from ..org.models import Position, Status, User

INACTIVE_MINUTES = 15  # the class activity page's default threshold
RECENT_LIMIT = 10
BINS = 10  # progress spread in steps of 10 % of the run's points


@dataclass
class ClassHome:
    """What the instructor's home shows of one class."""

    klass: Position
    students: int
    pending: int
    run: Run | None = None
    live: bool = False
    spread: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    inactive: list[tuple[User, datetime | None]] = field(default_factory=list)
    recent: list[LogEntry] = field(default_factory=list)


def spread_chart(totals: list[Decimal], max_total: int) -> dict[str, Any]:
    """A histogram of the students' totals as shares of the run's points (Chart.js spec for charts.js)."""
    counts = [0] * BINS
    for total in totals:
        share = float(total) / max_total if max_total else 0.0
        counts[min(BINS - 1, max(0, int(share * BINS)))] += 1
    step = 100 // BINS
    labels = [f"{i * step}–{(i + 1) * step}%" for i in range(BINS)]
    return {"type": "bar", "labels": labels,
            "datasets": [{"label": _("Students"), "data": counts}],
            "title": _("Students by share of points"), "integer": True}


def _scores(totals: list[Decimal], max_total: int) -> dict[str, Any]:
    """Lowest, median and highest total (the table beside the chart, also read without JavaScript)."""
    if not totals:
        return {}
    ordered = sorted(totals)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return {"low": ordered[0], "median": median, "high": ordered[-1], "max": max_total}


def recent_activity(class_id: int, limit: int = RECENT_LIMIT) -> list[LogEntry]:
    """The class's newest log entries the viewer may read, without sign-in and sign-out noise."""
    return list(db.session.scalars(
        select(LogEntry).where(LogEntry.class_id == class_id,
                               LogEntry.verb.not_like("auth.%"))
        .order_by(LogEntry.id.desc()).limit(limit)))


def pending_by_class(class_ids: list[int]) -> dict[int, int]:
    """Registrations awaiting approval per class, in one query."""
    if not class_ids:
        return {}
    return dict(db.session.execute(
        select(User.class_id, func.count()).where(User.class_id.in_(class_ids), User.status == Status.PENDING)
        .group_by(User.class_id)).all())  # type: ignore[arg-type]


def class_home(klass: Position, pending: int = 0) -> ClassHome:
    """The widgets of one class: its current run, progress spread, quiet students and recent activity."""
    students = class_students(klass.id)
    home = ClassHome(klass, len(students), pending, recent=recent_activity(klass.id))
    run = current_class_run(klass.id)
    if run is None:
        return home
    home.run, home.live = run, is_live(run)
    book = gradebook(run, students, live=True)  # `run` was just read as the run in force
    totals = [row.total for row in book.rows]
    home.spread = spread_chart(totals, book.max_total)
    home.scores = _scores(totals, book.max_total)
    # Only the last action's time of each student is shown: the log's times, not its changes.
    home.inactive = inactive_students(run, students, INACTIVE_MINUTES, log=class_log(run, students, times_only=True))
    return home
