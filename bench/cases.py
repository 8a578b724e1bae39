"""`sandbox bench`, cases part: the cases list with 100,000 cases, and one workflow transition.

Data (its own SQLite file, Core executemany): one class of 4 departments × 25 students and an instructor;
100,000 cases of every shipped workflow (1,000 per student, in every state, some in the recycle bin).

* The list: `GET /cases/` as the instructor (sees all 100,000) and as a student (their 1,000), visibility
  on. Baseline, in the same run: the same page rendered from memory. One real request runs with the record
  views' `render_template` wrapped, so the exact context it built is kept (detached rows, total, owner
  choices); a bench-only rule renders the same template from it. Checked to be the same page, then
  requested in turns; ratio = baseline ms ÷ real ms (target ≥ 0.4), as the other lists.
* The transition: a level-2 complaint moved new → assigned with its assignee and supervisor (read and
  check the values against the definition, write state, fields and history, log, notify the supervisor and
  the assignee, commit), against a plain ORM update of the same columns of a twin case in an operation of
  its own (its log entry) and a commit. Medians over the rounds; ratio = plain ÷ transition (target ≥ 0.5).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template
from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from sandbox import access, create_app
from sandbox.cases import services
from sandbox.cases.models import Case
from sandbox.cases.routes import views as case_views
from sandbox.clock import utcnow
from sandbox.extensions import db
from sandbox.oplog import operation, set_actor
from sandbox.org.models import Role, User
from sandbox.workflows import engine

from .data import PASSWORD, _Tree, create_schema, insert_tree
from .pages import paired_medians, sign_in
from .workbench import capture, check_same

LIST_TARGET, MOVE_TARGET = 0.4, 0.5
BASELINE = "/bench/cases/"
Say = Callable[[str], None]


def _app(folder: Path) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'cases.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "up")})


def _build(app: Flask, total: int, students: int) -> dict[str, Any]:
    """The class, its users and `total` cases spread over the students; the usernames measured."""
    tree = _Tree()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, "organization", "Bench School", None)
    teacher = tree.position(root, "teacher", "Teacher", None)
    klass = tree.position(teacher, "class", "Service class", None)
    tree.positions[-1]["class_id"] = klass
    tree.user("teacher", "Teacher", Role.INSTRUCTOR, teacher, None, pw)
    owners = []
    for d in range(4):
        dept = tree.position(klass, "department", f"Dept {d + 1}", klass)
        seat = tree.position(dept, "position", "Service", klass)
        owners += [tree.user(f"s{d}{i:02d}", f"Student {d}-{i}", Role.STUDENT, seat, klass, pw)
                   for i in range(students // 4)]
    flows = list(engine.definitions().values())
    now = utcnow()
    rows = []
    for n in range(total):
        wf = flows[n % len(flows)]
        owner = owners[n % len(owners)]
        created = now - timedelta(minutes=n)
        level = 1 + n % 5 if wf.key == "complaint" else None
        rows.append({
            "owner_id": owner, "class_id": klass, "created_by_id": owner, "created_at": created, "updated_at": created,
            "deleted_at": now if n % 47 == 1 else None, "version": 1, "workflow": wf.key,
            "subject": f"Case {n} of {wf.key}", "description": None, "state": wf.states[n % len(wf.states)].name,
            "priority": None, "level": level, "channel": "phone" if level else None,
            "target": "company" if level else None, "data": None, "stamps": None,
            "due_at": created + timedelta(hours=engine.sla_hours(wf, level) or 72),
        })
    with app.app_context():
        with db.engine.begin() as conn:
            insert_tree(conn, tree)
            for start in range(0, len(rows), 5000):
                conn.execute(insert(Case.__table__), rows[start:start + 5000])
        db.engine.dispose()
    return {"instructor": "teacher", "student": "s000", "rows": len(rows)}


def _list(app: Flask, built: dict[str, Any], rounds: int, warmup: int, measure_cls: Any,
          say: Say) -> tuple[list[Any], list[str]]:
    pages: dict[int, dict[str, Any]] = {}

    def baseline() -> str:
        """The cases list rendered from the context the real view built, held in memory (no query on cases)."""
        from flask_login import current_user

        captured = pages[current_user.id]
        g.reference_labels = dict(captured["labels"])
        case_views.prime_rows(captured["context"]["rows"])
        return render_template("records/list.html", **captured["context"])

    app.add_url_rule(BASELINE, "bench_cases_list", baseline)  # the bench's own app only
    measures, lines = [], []
    for viewer in ("instructor", "student"):
        username = built[viewer]
        with app.app_context():
            access.use_viewer(access.SYSTEM)
            user_id = db.session.scalar(select(User.id).where(User.username == username))
            db.session.remove()
        client = sign_in(app, username)
        pages[user_id] = capture(client, "/cases/")
        check_same(client, "/cases/", BASELINE)
        real_ms, base_ms = paired_medians(client, "/cases/", BASELINE, rounds, warmup)
        ratio = base_ms / real_ms
        total = pages[user_id]["context"]["total"]
        measure = measure_cls(f"cases_list_{viewer}", round(real_ms, 3), "ms", round(base_ms, 3), round(ratio, 3))
        measures.append(measure)
        lines.append(f"{measure.name:<26}{total:>9,}{real_ms:>10.2f}{base_ms:>12.2f}{ratio:>8.2f}  "
                     f"{'ok' if ratio >= LIST_TARGET else 'BELOW'}")
        say(f"cases: list as the {viewer}: {real_ms:.2f} ms vs {base_ms:.2f} ms from memory")
    return measures, lines


@operation("bench.update")
def _plain_update(case: Case, assignee_id: int, supervisor_id: int) -> None:
    """The baseline: the same columns written by a plain ORM update, logged by its own operation."""
    case.state = "assigned"
    case.assignee_id = assignee_id
    case.supervisor_id = supervisor_id


def _transition(app: Flask, rounds: int, measure_cls: Any, say: Say) -> tuple[list[Any], list[str]]:
    with app.test_request_context("/"):
        access.use_viewer(access.SYSTEM)
        student = db.session.scalar(select(User).where(User.username == "s000"))
        peer = db.session.scalar(select(User).where(User.username == "s001"))
        manager = db.session.scalar(select(User).where(User.username == "s100"))
        set_actor(student)
        access.use_viewer(access.viewer_for(student))
        cases = [services.create_case("complaint", {"subject": f"Twin {i}", "level": 2, "channel": "phone",
                                                    "target": "company"}) for i in range(2 * rounds)]
        db.session.commit()
        real, plain = [], []
        values = {"assignee_id": peer.id, "supervisor_id": manager.id}
        for i in range(rounds):  # in turns, so both meet the same machine
            start = time.perf_counter()
            services.transition_case(cases[2 * i], "assigned", values)
            db.session.commit()
            real.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            _plain_update(cases[2 * i + 1], peer.id, manager.id)
            db.session.commit()
            plain.append((time.perf_counter() - start) * 1000)
        db.session.remove()
    real_ms, base_ms = statistics.median(real), statistics.median(plain)
    ratio = base_ms / real_ms
    measure = measure_cls("case_transition", round(real_ms, 3), "ms", round(base_ms, 3), round(ratio, 3))
    say(f"cases: transition {real_ms:.2f} ms vs plain update {base_ms:.2f} ms")
    line = f"{measure.name:<26}{rounds:>9,}{real_ms:>10.2f}{base_ms:>12.2f}{ratio:>8.2f}  " \
           f"{'ok' if ratio >= MOVE_TARGET else 'BELOW'}"
    return [measure], [line]


def run(measure_cls: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """Measure the cases list per viewer and one transition against their baselines; measures and a table."""
    total, students, rounds, warmup, moves = (5_000, 20, 5, 2, 10) if quick else (100_000, 100, 30, 5, 60)
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-cases-") as tmp:
        app = _app(Path(tmp))
        create_schema(app)
        say(f"cases: generating {total:,} cases …")
        built = _build(app, total, students)
        measures, lines = _list(app, built, rounds, warmup, measure_cls, say)
        more, more_lines = _transition(app, moves, measure_cls, say)
        with app.app_context():
            db.engine.dispose()
    table = "\n".join([
        f"cases (GET /cases/ with {built['rows']:,} cases, median of {rounds}; one transition, median of {moves})",
        "list baseline = the same page rendered from the context the real view built, kept in memory",
        "transition baseline = a plain ORM update of the same columns of a twin case, logged, committed",
        "",
        f"{'measure':<26}{'rows':>9}{'ms':>10}{'base ms':>12}{'ratio':>8}  target ≥ {LIST_TARGET} (list), "
        f"≥ {MOVE_TARGET} (transition)",
        *lines, *more_lines,
    ])
    return measures + more, table


if __name__ == "__main__":  # `python -m bench.cases [--quick]`: this part alone, table then JSON lines
    import sys

    from .runner import Measure

    found, printed = run(Measure, "--quick" in sys.argv, lambda msg: print(msg, file=sys.stderr))
    print(printed)
    for item in found:
        print(item.as_json())
