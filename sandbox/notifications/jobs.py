"""Due events: a task of yours is overdue, the scenario deadline is near. Raised by a scan, never by a click.

Nothing happens at the moment a task becomes overdue, so something must look. Two things do, and both call
the same `scan_user`:

* `sandbox notifications scan` (cli.py), for cron: every active user, in one transaction;
* the lazy scan: when a signed-in user loads a page and their last scan is older than
  `NOTIFICATION_SCAN_MINUTES` (default 10). Several gunicorn workers serve one class, so the time of the
  last scan is not kept in process memory but in the database: one hidden row per user in `notifications`
  (kind `notifications.scanned`, key `scanned`, `read_at` = when), always read so the badge never counts it,
  never listed. The navigation reads it in the same query as the unread count (`services.badge_state`).

The lazy scan runs in its OWN short transaction (a fresh application context, so a fresh session), acting as
the system viewer for the user: the page's request keeps its rule (a GET never commits) and a scan that
fails (two workers scanning the same user at once: the unique key refuses the second) costs nothing but a
log line. It is off under TESTING unless `NOTIFICATION_LAZY_SCAN` is set, because other features' tests
check that their GET pages write nothing.

Scans are idempotent through `Notification.key`: a task's key names the task and its due date (a task moved
to a later day and overdue again is news), a deadline's names the class run and the deadline.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from .. import access, boundary
from ..activities.models import TASK, Activity
from ..clock import today, utcnow
from ..codes.services import choices, extra
from ..extensions import db
from ..oplog import current_op, operation, set_actor
from ..org.models import Role, Status, User
from .models import Notification
from .services import SCAN_KEY, SCAN_KIND, notify

log = logging.getLogger(__name__)

# Overdue tasks older than this are not announced: a scenario's book may hold many tasks due long ago, and
# the inbox should carry news, not the whole backlog (the activities list has an "Overdue tasks" view).
OVERDUE_WINDOW_DAYS = 7
# Most overdue-task notifications one scan raises for one user (the oldest first wait for the next scan).
OVERDUE_PER_SCAN = 20


@dataclass
class ScanCache:
    """What a scan over many users looks up once per class (closed task statuses, the run and deadlines)."""

    closed: dict[int | None, list[str]] = field(default_factory=dict)
    runs: dict[int, Any] = field(default_factory=dict)
    extensions: dict[int, dict[int, datetime]] = field(default_factory=dict)


def _closed_statuses(class_id: int | None, cache: ScanCache) -> list[str]:
    """Task status codes the class's code table calls closed (completed by default)."""
    if class_id not in cache.closed:
        codes = [code for code, _label in choices("task_status", class_id=class_id)
                 if extra("task_status", code, class_id=class_id).get("closed")]
        cache.closed[class_id] = codes or ["completed"]
    return cache.closed[class_id]


def _overdue_tasks(user: User, cache: ScanCache) -> int:
    """Notify the user of their open tasks that became overdue in the last week; returns how many were new."""
    day = today()
    closed = _closed_statuses(user.class_id, cache)
    tasks = list(db.session.scalars(
        select(Activity).where(
            Activity.owner_id == user.id, Activity.kind == TASK, Activity.deleted_at.is_(None),
            Activity.due_date < day, Activity.due_date >= day - timedelta(days=OVERDUE_WINDOW_DAYS),
            or_(Activity.status.is_(None), Activity.status.not_in(closed)))
        .order_by(Activity.due_date, Activity.id)))
    if not tasks:
        return 0
    keys = {f"task.overdue:{t.id}:{t.due_date.isoformat()}": t for t in tasks if t.due_date is not None}
    taken = set(db.session.scalars(select(Notification.key).where(
        Notification.user_id == user.id, Notification.key.in_(sorted(keys)))))
    added = 0
    for key, task in keys.items():
        if key in taken or added >= OVERDUE_PER_SCAN:
            continue
        added += len(notify([user.id], "task.overdue", record=task, key=key, due=task.due_date.isoformat()))
    return added


def _deadline_near(user: User, now: datetime, cache: ScanCache) -> int:
    """Notify a student whose scenario deadline (their own, if extended) falls within the next hours."""
    from ..classroom.models import DeadlineExtension
    from ..classroom.runs.lookup import current_class_run

    if user.role != Role.STUDENT or user.class_id is None:
        return 0
    if user.class_id not in cache.runs:
        run = current_class_run(user.class_id)
        cache.runs[user.class_id] = run
        if run is not None:
            cache.extensions[run.id] = dict(db.session.execute(
                select(DeadlineExtension.student_id, DeadlineExtension.deadline)
                .where(DeadlineExtension.run_id == run.id)).all())  # type: ignore[arg-type]
    run = cache.runs[user.class_id]
    if run is None:
        return 0
    deadline = cache.extensions.get(run.id, {}).get(user.id, run.deadline)
    hours = current_app.config.get("NOTIFICATION_DEADLINE_HOURS", 24)
    if not (now < deadline <= now + timedelta(hours=hours)):
        return 0
    return len(notify([user.id], "deadline.near", record=run, key=f"deadline.near:{run.id}:{deadline.isoformat()}",
                      scenario=run.scenario_name, deadline=deadline.isoformat()))


def _mark_scanned(user_id: int, now: datetime) -> None:
    """Remember when this user's due events were last looked for (the hidden, always-read marker row)."""
    marker = db.session.scalar(select(Notification).where(
        Notification.user_id == user_id, Notification.key == SCAN_KEY))
    if marker is None:
        db.session.add(Notification(user_id=user_id, kind=SCAN_KIND, key=SCAN_KEY, created_at=now, read_at=now))
    else:
        marker.read_at = now


def _scan_one(user: User, now: datetime, cache: ScanCache) -> int:
    added = _overdue_tasks(user, cache) + _deadline_near(user, now, cache)
    _mark_scanned(user.id, now)
    return added


@operation("notification.scan")
def scan_user(user: User, now: datetime | None = None) -> int:
    """Raise the due events of one user (overdue tasks, deadline near) not raised before; returns how many."""
    now = now or utcnow()
    added = _scan_one(user, now, ScanCache())
    current_op().target(None, count=added)
    return added


@operation("notification.scan")
def scan_all(now: datetime | None = None) -> tuple[int, int]:
    """Raise the due events of every active user (the cron job); returns (users scanned, notifications added)."""
    now = now or utcnow()
    cache = ScanCache()
    users = list(db.session.scalars(select(User).where(User.status == Status.ACTIVE).order_by(User.id)))
    added = sum(_scan_one(user, now, cache) for user in users)
    current_op().target(None, count=added, users=len(users))
    return len(users), added


def lazy_scan_due(last_scan: datetime | None, now: datetime | None = None) -> bool:
    """Whether a page load should scan: lazy scanning is on and the last scan is older than the interval."""
    app = current_app
    if not app.config.get("NOTIFICATION_LAZY_SCAN", not app.testing):
        return False
    minutes = app.config.get("NOTIFICATION_SCAN_MINUTES", 10)
    if minutes <= 0:
        return False
    return last_scan is None or (now or utcnow()) - last_scan >= timedelta(minutes=minutes)


def scan_in_own_transaction(user_id: int) -> int:
    """Scan one user in a transaction of its own (never the page's); returns the notifications added (0 on failure)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # A fresh app context is a fresh session: the request's transaction is untouched. It writes: on SQLite
    # it takes the write lock when it begins (a GET page's deferred read-then-write would fail when busy).
    with app.app_context(), boundary.will_write():
        access.use_viewer(access.SYSTEM)
        try:
            user = db.session.get(User, user_id)
            if user is None:
                return 0
            # The system scans, not the student: its entry has no actor, so class activity, inactivity and
            # integrity hints never count a page load's scan as the student's action.
            set_actor(None)
            added = scan_user(user)
            db.session.commit()
        except SQLAlchemyError:
            # Another worker scanned the same user at the same moment (the marker's unique key), or the
            # database is busy: the page goes on, the next page load scans again.
            db.session.rollback()
            log.warning("lazy notification scan of user %s failed", user_id, exc_info=True)
            return 0
        from .mail import deliver_committed

        deliver_committed()
        return added
