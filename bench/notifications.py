"""`sandbox bench`, notifications part: the inbox page, the navigation badge and the due-event scan.

Data (its own SQLite file, Core executemany): one class of 60 students, each with 2,000 notifications (one in
ten unread; 120,000 rows, quick: 20 students × 500), and 20 tasks each, half overdue since yesterday.
Measured, for the student s000:

* `notifications.inbox`: `GET /notifications/` through the test client and the whole request (session, viewer,
  the badge, 25 newest rows, their count, links through visibility). Baseline: a bench-only route rendering
  the same template from the same 25 rendered rows kept in memory, through the same request machinery (the
  badge included), so the ratio is what reading the page's rows costs on top of rendering them;
* `notifications.badge`: `services.badge_state` (the unread count and the last scan time, one query of two
  indexed lookups over the student's 2,000 rows) against the cheapest query there is, `SELECT 1`, through the
  same session, 200 calls per round: the ratio says how much more than a bare round trip the badge costs.
  (Against a bare sqlite3 cursor both are ~70× slower: that is SQLAlchemy's per-statement cost, not the badge's.)

Also reported (no baseline): `scan_all` over every user, first pass (raises the overdue tasks) and the
idempotent second pass (raises nothing). Ratio = baseline ÷ measured, from the round with the median ratio.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from flask import Flask, render_template
from sqlalchemy import func, insert, literal, select
from werkzeug.security import generate_password_hash

from sandbox import access, create_app
from sandbox.activities.models import Activity
from sandbox.clock import today, utcnow
from sandbox.extensions import db
from sandbox.notifications.jobs import scan_all
from sandbox.notifications.models import Notification
from sandbox.notifications.render import render_all
from sandbox.notifications.services import badge_state, inbox_query
from sandbox.oplog import set_actor
from sandbox.org.models import Role, User

from .data import PASSWORD, _Tree, create_schema, insert_tree
from .pages import sign_in

TARGET = 0.4
BASELINE = "/bench/notifications-baseline"
Say = Callable[[str], None]


def _app(folder: Path) -> Flask:
    # Lazy scans off: the scan is measured on its own below, not inside the first page load of a round.
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'notifications.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "up"),
                       "NOTIFICATION_LAZY_SCAN": False})


def _build(app: Flask, students: int, per_student: int) -> int:
    """The class, its students, their notifications and tasks; returns the number of notifications."""
    tree = _Tree()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, "organization", "Bench School", None)
    teacher = tree.position(root, "teacher", "Teacher", None)
    klass = tree.position(teacher, "class", "Inbox class", None)
    tree.positions[-1]["class_id"] = klass
    dept = tree.position(klass, "department", "Dept 1", klass)
    seat = tree.position(dept, "position", "Sales", klass)
    tree.user("teacher", "Teacher", Role.INSTRUCTOR, teacher, None, pw)
    ids = [tree.user(f"s{i:03d}", f"Student {i}", Role.STUDENT, seat, klass, pw) for i in range(students)]
    now = utcnow()
    with app.app_context():
        day = today()  # in the configured time zone, as the scan reads it
    kinds = ("record.transferred", "case.assigned", "grade.override", "task.overdue")
    notes, tasks = [], []
    for uid in ids:
        for n in range(per_student):
            kind = kinds[n % len(kinds)]
            notes.append({
                "user_id": uid, "class_id": klass, "kind": kind, "record_type": "lead" if n % 4 == 0 else None,
                "record_id": 10_000_000 + n if n % 4 == 0 else None,
                "params": {"label": f"Record {n}", "type": "lead", "by": "Teacher", "due": "2030-01-02",
                           "objective": "calls", "points": "5.00", "max": 10, "comment": "Well done"},
                "key": None, "created_at": now - timedelta(minutes=per_student - n),
                "read_at": None if n % 10 == 0 else now, "emailed_at": None})
        for n in range(20):
            tasks.append({
                "owner_id": uid, "class_id": klass, "created_by_id": uid, "created_at": now, "updated_at": now,
                "deleted_at": None, "version": 1, "kind": "task", "subject": f"Task {n}",
                "due_date": day - timedelta(days=1) if n % 2 else day + timedelta(days=3), "status": "not_started",
                "priority": "normal", "event_type": None, "start_at": None, "end_at": None, "location": None,
                "attendees": None, "description": None, "related_type": None, "related_id": None})
    with app.app_context():
        with db.engine.begin() as conn:
            insert_tree(conn, tree)
            for start in range(0, len(notes), 5000):
                conn.execute(insert(Notification.__table__), notes[start:start + 5000])
            conn.execute(insert(Activity.__table__), tasks)
        db.engine.dispose()
    return len(notes)


def _get(client: Any, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.data[:200]!r}")
    return elapsed


def _median_pair(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """(real, baseline) of the round with the median ratio (a noisy neighbour hits one round, not the figure)."""
    return sorted(pairs, key=lambda p: p[1] / p[0])[len(pairs) // 2]


def _inbox_rows(app: Flask, user_id: int) -> tuple[list[Any], int]:
    """The first page as the inbox renders it, kept as plain objects (no session behind them)."""
    with app.test_request_context("/notifications/"):
        access.use_viewer(access.SYSTEM)
        user = db.session.get(User, user_id)
        access.use_viewer(access.viewer_for(user))
        notes = list(db.session.scalars(inbox_query(user_id).limit(25)))
        rows = [SimpleNamespace(text=r.text, url=r.url, unread=r.unread,
                                note=SimpleNamespace(id=r.note.id, created_at=r.note.created_at))
                for r in render_all(notes)]
        total = db.session.scalar(select(func.count()).select_from(inbox_query(user_id).order_by(None).subquery()))
        db.session.remove()
        return rows, int(total or 0)


def run(measure_cls: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """Measure the inbox and the badge against their baselines, and time the scan; measures and a table."""
    students, per_student, rounds, warmup = (20, 500, 5, 2) if quick else (60, 2000, 25, 3)
    measures, lines = [], []
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-notifications-") as tmp:
        app = _app(Path(tmp))
        create_schema(app)
        say(f"notifications: {students * per_student:,} notifications …")
        rows = _build(app, students, per_student)
        with app.app_context():
            user_id = db.session.scalar(select(User.id).where(User.username == "s000"))
        kept, total = _inbox_rows(app, user_id)

        def baseline() -> str:
            """The inbox's first page rendered from rows in memory: no query for the list, the same template."""
            return render_template("notifications/index.html", items=kept, page=1, total=total, size=25)

        app.add_url_rule(BASELINE, "bench_notifications_baseline", baseline)
        client = sign_in(app, "s000")
        pairs = []
        for i in range(warmup + rounds):
            pair = (_get(client, "/notifications/"), _get(client, BASELINE))
            if i >= warmup:
                pairs.append(pair)
        real_ms, base_ms = _median_pair(pairs)
        measures.append(measure_cls("notifications.inbox", round(real_ms, 2), "ms", round(base_ms, 2),
                                    round(base_ms / real_ms, 3)))

        calls, pairs = 200, []
        with app.app_context():
            access.use_viewer(access.SYSTEM)
            for i in range(warmup + rounds):
                start = time.perf_counter()
                for _ in range(calls):
                    badge_state(user_id)
                real = (time.perf_counter() - start) * 1000 / calls
                start = time.perf_counter()
                for _ in range(calls):
                    db.session.execute(select(literal(1))).one()
                base = (time.perf_counter() - start) * 1000 / calls
                if i >= warmup:
                    pairs.append((real, base))
            db.session.remove()
        badge_ms, badge_base = _median_pair(pairs)
        measures.append(measure_cls("notifications.badge", round(badge_ms, 4), "ms", round(badge_base, 4),
                                    round(badge_base / badge_ms, 3)))

        scans = []
        with app.app_context():
            access.use_viewer(access.SYSTEM)
            set_actor(None)
            for _pass in range(2):
                start = time.perf_counter()
                users, added = scan_all()
                db.session.commit()
                scans.append(((time.perf_counter() - start) * 1000, users, added))
            db.session.remove()
            db.engine.dispose()
    for m in measures:
        verdict = "ok" if m.ratio >= TARGET else "BELOW"
        lines.append(f"{m.name:<24}{m.value:>12.4f}{m.baseline:>14.4f}{m.ratio:>8.2f}  {verdict}")
    (first_ms, users, added), (second_ms, _u, again) = scans
    table = "\n".join([
        f"notifications: {rows:,} rows ({students} students × {per_student}), the round with the median ratio of {rounds}",
        "inbox baseline = the same template from the 25 rendered rows kept in memory, same request machinery;",
        "badge baseline = SELECT 1 through the same session (ms per call)",
        "",
        f"{'measure':<24}{'ms':>12}{'baseline ms':>14}{'ratio':>8}  target ≥ {TARGET}",
        *lines,
        "",
        f"scan_all of {users} users: first pass {first_ms:.0f} ms ({added} overdue tasks announced), "
        f"idempotent pass {second_ms:.0f} ms ({again} added)",
    ])
    return measures, table
