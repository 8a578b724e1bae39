"""Class activity: actions per student over time, who has gone quiet, and integrity hints for human review.

Everything is computed from one read of the class run's log (`class_log`), grouped in Python, so a
class of 60 students with a few thousand entries costs a handful of queries. A student's entries count
in the run that counts for them (`runs.student_runs`): their own re-run if they have one, else the class run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ...clock import utcnow
from ...extensions import db
from ...oplog import LogEntry
from ...org.models import User
from ..models import Run
from ..objectives.integrity import Hint, find_hints
from ..runs.lookup import deadlines, student_runs

BUCKET_MINUTES = 10
# A day of 10-minute buckets; a longer span (homework over a week) shows only the buckets with actions.
MAX_BUCKETS = 144


@dataclass(frozen=True)
class Action:
    """One thing a student did: the log entries of one request (a lead conversion writes four)."""

    student_id: int
    at: datetime
    verb: str
    entry_ids: tuple[int, ...]
    request_id: str | None


@dataclass
class ClassLog:
    """The counted log of one class run: each student's actions in time order and the raw rows."""

    class_run: Run
    students: dict[int, User]
    starts: dict[int, datetime]  # student id -> start of the run that counts for them
    actions: dict[int, list[Action]] = field(default_factory=dict)
    rows: list[Any] = field(default_factory=list)  # the entries' columns read by class_log

    def last_at(self, student_id: int) -> datetime | None:
        """When the student last did something in the run (None: nothing yet)."""
        actions = self.actions.get(student_id)
        return actions[-1].at if actions else None

    def all_actions(self) -> list[Action]:
        """Every student's actions in time order."""
        return sorted((a for acts in self.actions.values() for a in acts), key=lambda a: (a.at, a.entry_ids))


def class_log(class_run: Run, students: list[User], times_only: bool = False) -> ClassLog:
    """Read the students' counted entries of `class_run` in one query and group them into actions.

    times_only: read only what the actions' times need (not the verbs, objects and changes, whose JSON is most
    of the cost), for a page that shows only when each student last acted; `rows` then stays empty.
    """
    counted = student_runs(class_run)
    starts = {s.id: class_run.started_at for s in students}
    if counted:
        rows = db.session.execute(select(Run.id, Run.started_at).where(Run.id.in_(set(counted.values()))))
        rerun_starts = {run_id: started_at for run_id, started_at in rows}
        starts.update({sid: rerun_starts[rid] for sid, rid in counted.items() if sid in starts and rid in rerun_starts})
    log = ClassLog(class_run, {s.id: s for s in students}, starts, {s.id: [] for s in students})
    if not students:
        return log
    columns = (LogEntry.id, LogEntry.actor_id, LogEntry.run_id, LogEntry.at, LogEntry.verb, LogEntry.object_type,
               LogEntry.object_id, LogEntry.changes, LogEntry.request_id)
    stmt = (
        select(*(columns if not times_only else (LogEntry.id, LogEntry.actor_id, LogEntry.run_id, LogEntry.at,
                                                  LogEntry.verb, LogEntry.request_id)))
        .where(LogEntry.run_id.in_({class_run.id, *counted.values()}), LogEntry.actor_id.in_(list(log.students)))
        .order_by(LogEntry.at, LogEntry.id)
        .execution_options(skip_visibility=True)  # the class log of a run: a grading read
    )
    for row in db.session.execute(stmt):
        if row.run_id != counted.get(row.actor_id, class_run.id):
            continue  # a student's entries of the class run before their own re-run no longer count
        if not times_only:
            log.rows.append(row)
        actions = log.actions[row.actor_id]
        last = actions[-1] if actions else None
        if last is not None and row.request_id is not None and last.request_id == row.request_id:
            actions[-1] = Action(last.student_id, last.at, last.verb, (*last.entry_ids, row.id), last.request_id)
        else:
            actions.append(Action(row.actor_id, row.at, row.verb, (row.id,), row.request_id))
    return log


def _floor(at: datetime, minutes: int) -> datetime:
    """The start of the bucket holding `at` (buckets aligned on the clock: 09:00, 09:10, ...)."""
    since_midnight = at.hour * 60 + at.minute
    return at.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(minutes=since_midnight - since_midnight % minutes)


def is_live(class_run: Run, now: datetime | None = None) -> bool:
    """Is the run still going on (not undone, and someone's deadline not yet passed)?"""
    now = now or utcnow()
    latest = max([class_run.deadline, *deadlines(class_run).values()])
    return class_run.undone_at is None and now <= latest


def activity_series(class_run: Run, students: list[User], bucket_minutes: int = BUCKET_MINUTES,
                    now: datetime | None = None, log: ClassLog | None = None, live: bool | None = None,
                    ) -> tuple[list[datetime], dict[int, list[int]]]:
    """(bucket starts, student id -> actions per bucket) from the run's start until now (live run) or the last action.

    live: `is_live(class_run)` when the caller has just read it (else it is read here)."""
    log = log or class_log(class_run, students)
    now = now or utcnow()
    step = timedelta(minutes=bucket_minutes)
    actions = log.all_actions()
    first = min([class_run.started_at, *(a.at for a in actions[:1])])
    start = _floor(first, bucket_minutes)
    end = actions[-1].at if actions else start
    if live if live is not None else is_live(class_run, now):
        end = max(end, now)
    count = int((end - start) // step) + 1
    if count <= MAX_BUCKETS:
        buckets = [start + i * step for i in range(count)]
    else:
        buckets = sorted({_floor(a.at, bucket_minutes) for a in actions})
    index = {b: i for i, b in enumerate(buckets)}
    series = {s.id: [0] * len(buckets) for s in students}
    for action in actions:
        series[action.student_id][index[_floor(action.at, bucket_minutes)]] += 1
    return buckets, series


def inactive_students(class_run: Run, students: list[User], minutes: int, now: datetime | None = None,
                      log: ClassLog | None = None) -> list[tuple[User, datetime | None]]:
    """Students with no action for `minutes`, and every student who has not acted at all in the run, quietest first."""
    log = log or class_log(class_run, students)
    cutoff = (now or utcnow()) - timedelta(minutes=minutes)
    quiet = []
    for student in students:
        last = log.last_at(student.id)
        # Never having acted counts however recently the run began: the teacher wants to know who has not started.
        if last is None or last < cutoff:
            quiet.append((student, last))
    return sorted(quiet, key=lambda pair: (pair[1] is not None, pair[1] or datetime.min, pair[0].display_name))


def integrity_hints(class_run: Run, students: list[User], log: ClassLog | None = None) -> list[Hint]:
    """Bursts, identical free text and values from another student's book, for a person to review."""
    return find_hints(log or class_log(class_run, students))


def summary(buckets: list[datetime], series: dict[int, list[int]]) -> dict[str, Any]:
    """Totals for the page header: actions, active students, the busiest bucket."""
    per_bucket = [sum(col) for col in zip(*series.values(), strict=True)] if series else [0] * len(buckets)
    busiest = max(range(len(per_bucket)), key=per_bucket.__getitem__) if any(per_bucket) else None
    return {
        "actions": sum(per_bucket),
        "active": sum(1 for counts in series.values() if any(counts)),
        "busiest": (buckets[busiest], per_bucket[busiest]) if busiest is not None else None,
        "per_bucket": per_bucket,
    }


def heat_levels(counts: list[int]) -> list[int]:
    """The 0–4 shade of each cell of the heat table (fixed steps, so shades compare across students)."""
    return [0 if c == 0 else 1 if c <= 2 else 2 if c <= 5 else 3 if c <= 10 else 4 for c in counts]
