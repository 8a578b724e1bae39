"""`sandbox bench`, gradebook part: 200 students × 10 objectives over 1,000,000 log entries of one class run.

Data (its own SQLite file, built once per bench run with Core executemany): one class of 10 departments ×
20 students, a class run of Sales basics plus one more objective (a sequence across the student's stream),
started 15 days ago with its deadline a day ago; 4 students re-ran it and 5 have extensions. Every student
has ~30 opportunities (some won, with lines and competitors) and a stream of log entries in a realistic mix
(edits, calls, stage moves, conversions, lines, sign-ins) with the field-level changes the real services
write. Measured: `gradebook(class_run)` in a fresh session against one hand-written aggregate query over
the same entries (`SELECT actor_id, verb, count(*) … WHERE run_id = ? GROUP BY actor_id, verb`): the
instructor's refresh after a few new entries (the measure: kept outcomes, only the students the entries
could affect scored again) and the cold first computation (nothing kept), each against the same baseline.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert, text
from werkzeug.security import generate_password_hash

from sandbox import access, create_app
from sandbox.activities.models import Activity
from sandbox.classroom.grading import incremental
from sandbox.classroom.grading.gradebook import gradebook
from sandbox.classroom.models import DeadlineExtension, Run
from sandbox.clock import utcnow
from sandbox.competitors.models import Competitor
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.opportunities.models import Opportunity, StageHistory
from sandbox.opportunities.related_models import OpportunityCompetitor, OpportunityLine
from sandbox.org.models import PositionKind, Role
from sandbox.products.models import Product

from .data import PASSWORD, _Tree, bulk_connection, create_schema, insert_tree

FULL_ENTRIES = 1_000_000
QUICK_ENTRIES = 20_000
DEPARTMENTS, PER_DEPARTMENT = 10, 20
OPPORTUNITIES = 30  # per student
BATCH = 50_000
TARGET = 0.5
SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "sales-basics.yaml"
EXTRA_OBJECTIVE = """  - id: work-a-lead
    title: {zh: 从线索到升级, en: "Lead to conversion: create, call, convert"}
    points: 10
    check: {kind: sequence, steps: [lead.create, activity.log_call, lead.convert], same_record: false, count: 2}
"""
# verb → weight in the stream (per 100 entries), what a class does over two weeks.
MIX = {
    "lead.update": 18, "activity.log_call": 14, "opportunity.update": 10, "opportunity.stage_change": 8,
    "account.update": 7, "contact.update": 7, "lead.create": 5, "opportunity.add_line": 5, "activity.create": 4,
    "lead.convert": 3, "contact.create": 3, "note.create": 3, "account.create": 2, "opportunity.add_competitor": 2,
    "activity.complete": 2, "opportunity.create": 2, "auth.login": 3, "lead.export": 2,
}
STAGES = ["prospecting", "qualification", "needs_analysis", "value_proposition", "proposal", "negotiation",
          "closed_won"]
STATUSES = ["new", "contacted", "qualified", "unqualified"]
COLUMNS = ("at", "actor_id", "actor_role", "actor_label", "verb", "object_type", "object_id", "object_label", "changes",
           "params", "class_id", "run_id", "ip", "request_id", "as_teacher")

Say = Callable[[str], None]


def bench_app(folder: Path) -> Flask:
    """The gradebook's own database next to the list benchmark's."""
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'gradebook.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "up")})


def scenario_text() -> str:
    """Sales basics with a tenth objective (nine of its own, eight of them automatic)."""
    base = SCENARIO.read_text(encoding="utf-8")
    head, tail = base.split("\ndefault_deadline:")
    return f"{head.rstrip()}\n{EXTRA_OBJECTIVE}\ndefault_deadline:{tail}"


class _World:
    """Ids of the class: students, their opportunities and leads, and which ones each student works on now.

    Students work a few records at a time (call a lead, qualify it, convert it, move on), so most of a
    student's entries about a lead or a deal come close together, as in a real class.
    """

    def __init__(self, rng: random.Random, students: list[int], first_opp: int) -> None:
        self.rng = rng
        self.students = students
        self.opps = {s: list(range(first_opp + i * OPPORTUNITIES, first_opp + (i + 1) * OPPORTUNITIES))
                     for i, s in enumerate(students)}
        self.leads = {s: list(range(1 + i * 400, 1 + (i + 1) * 400)) for i, s in enumerate(students)}
        self.stage = {o: 0 for ops in self.opps.values() for o in ops}
        self.at_lead = dict.fromkeys(students, 0)
        self.at_opp = dict.fromkeys(students, 0)
        # The records the entries are about, as they stand at the end (grading checks that effects still stand).
        self.lead_status = {lead: "new" for leads in self.leads.values() for lead in leads}
        self.activities: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []
        self.rivals: dict[tuple[int, int], int] = {}  # (opportunity, competitor) -> row id
        self.history: list[dict[str, Any]] = []  # stage history rows, one per stage change

    def activity(self, student: int, klass: int, event: str | None, related: tuple[str, int], at: Any) -> int:
        """A new activity row of the student's (ids follow each other, as the database gives them)."""
        ident = len(self.activities) + 1
        self.activities.append({"id": ident, "owner_id": student, "class_id": klass, "created_by_id": student,
                                "created_at": at, "updated_at": at, "deleted_at": None, "version": 1,
                                "kind": "event" if event else "task", "subject": "电话联系", "event_type": event,
                                "related_type": related[0], "related_id": related[1], "start_at": at, "end_at": at})
        return ident

    def line(self, opp: int, at: Any) -> int:
        ident = len(self.lines) + 1
        amount = Decimal(self.rng.randint(1, 9) * 10_000)
        self.lines.append({"id": ident, "opportunity_id": opp, "product_id": self.rng.randint(1, 5),
                           "quantity": Decimal(1), "unit_price": amount, "discount": Decimal(0), "total": amount,
                           "created_at": at})
        return ident

    def rival(self, opp: int, competitor: int) -> int:
        return self.rivals.setdefault((opp, competitor), len(self.rivals) + 1)

    def lead(self, student: int, move: bool = False) -> int:
        """One of the leads the student is working on (the next one after a create or a conversion)."""
        leads, at = self.leads[student], self.at_lead[student]
        if move or self.rng.random() < 0.08:
            self.at_lead[student] = at = (at + 1) % len(leads)
        return leads[max(0, at - self.rng.randint(0, 2))]

    def opp(self, student: int) -> int:
        """One of the opportunities the student is pushing now."""
        opps, at = self.opps[student], self.at_opp[student]
        if self.rng.random() < 0.05:
            self.at_opp[student] = at = (at + 1) % len(opps)
        return opps[max(0, at - self.rng.randint(0, 1))]


Parts = tuple[Any, Any, Any, Any, dict[str, Any], Any]  # kind, id, label, params, fields, related


def _lead_parts(world: _World, student: int, verb: str, at: Any, klass: int) -> Parts:
    """What a lead.* entry says: the lead, its label and the fields the verb changed."""
    rng = world.rng
    kind, params, fields, related = "lead", None, {}, None
    ident = world.lead(student, move=verb in ("lead.create", "lead.convert"))
    label = f"线索 {ident}"
    if verb == "lead.update":
        if rng.random() < 0.5 and world.lead_status[ident] != "converted":
            fields = {"status": [world.lead_status[ident], rng.choices(STATUSES[1:], [3, 5, 2])[0]]}
            world.lead_status[ident] = fields["status"][1]
        else:
            fields = {rng.choice(["title", "phone", "email"]): ["旧值", "新值"]}
    elif verb == "lead.create":
        fields = {"name": [None, label], "company": [None, "杭州茶业有限公司"], "status": [None, "new"],
                  "phone": [None, "13800000000"], "owner_id": [None, student], "class_id": [None, klass]}
    elif verb == "lead.convert":
        fields = {"status": [world.lead_status[ident], "converted"], "converted_at": [None, at.isoformat()]}
        world.lead_status[ident] = "converted"
        related = [{"type": "account", "id": ident, "action": "create"},
                   {"type": "contact", "id": ident, "action": "create"}]
    elif verb == "lead.export":
        kind, ident, label, params = None, None, None, {"rows": 50}
    return kind, ident, label, params, fields, related


def _opportunity_parts(world: _World, student: int, verb: str, at: Any) -> Parts:
    """What an opportunity.* entry says (a stage change also writes the stage history)."""
    rng = world.rng
    kind, params, fields, related = "opportunity", None, {}, None
    ident = world.opp(student)
    label = f"项目 {ident}"
    if verb == "opportunity.stage_change":
        step = world.stage[ident]
        world.stage[ident] = min(step + 1, len(STAGES) - 1)
        fields = {"stage": [STAGES[step], STAGES[world.stage[ident]]], "probability": [10 * step, 10 * step + 10]}
        world.history.append({"opportunity_id": ident, "from_stage": STAGES[step],
                              "to_stage": STAGES[world.stage[ident]], "changed_by_id": student, "changed_at": at})
    elif verb in ("opportunity.update", "opportunity.add_line"):
        fields = {"amount": [f"{rng.randint(1, 90) * 1000}.00", f"{rng.randint(1, 90) * 1000}.00"]}
        if verb == "opportunity.add_line":
            params = {"product": "产品 1", "quantity": "2", "child_id": world.line(ident, at)}
    elif verb == "opportunity.create":
        fields = {"name": [None, label], "stage": [None, "prospecting"], "amount": [None, "10000.00"]}
    else:
        competitor = rng.randint(1, 5)
        params = {"competitor": f"竞争对手 {competitor}", "child_id": world.rival(ident, competitor)}
    return kind, ident, label, params, fields, related


def _activity_parts(world: _World, student: int, verb: str, at: Any, klass: int) -> Parts:
    """What an activity.* entry says: the activity and the record it is about."""
    rng = world.rng
    on = rng.choices(["lead", "opportunity", "account"], [6, 3, 1])[0]
    rid = world.lead(student) if on == "lead" else world.opp(student) if on == "opportunity" else rng.randint(1, 9999)
    label = "电话联系"
    params = {"related": f"{on} {rid}", "related_type": on, "related_id": rid}
    event = "call" if verb == "activity.log_call" else rng.choice(["meeting", "visit", "call", "demo"])
    kind = "activity"
    ident = (world.activity(student, klass, event, (on, rid), at) if verb != "activity.complete" or not
             world.activities else rng.randint(1, len(world.activities)))
    if verb != "activity.complete":
        fields = {"kind": [None, "event"], "event_type": [None, event], "subject": [None, label],
                  "related_type": [None, on], "related_id": [None, rid]}
    else:
        fields = {"status": ["not_started", "completed"]}
    return kind, ident, label, params, fields, None


def _entry(world: _World, student: int, verb: str, at: Any, run_id: int, klass: int) -> tuple[Any, ...]:
    """One log entry shaped as the real service writes it (a row of COLUMNS, JSON already encoded)."""
    rng = world.rng
    noun = verb.split(".")[0]
    kind, ident, label, params, fields, related = noun, None, None, None, {}, None
    if noun == "lead":
        kind, ident, label, params, fields, related = _lead_parts(world, student, verb, at, klass)
    elif noun == "opportunity":
        kind, ident, label, params, fields, related = _opportunity_parts(world, student, verb, at)
    elif noun == "activity":
        kind, ident, label, params, fields, related = _activity_parts(world, student, verb, at, klass)
    elif noun in ("account", "contact"):
        ident = rng.choice(world.leads[student])
        label = f"{noun} {ident}"
        fields = {"name": [None, label]} if verb.endswith("create") else {"phone": ["0571-1", "0571-2"]}
    elif verb == "note.create":
        kind, ident, label = "opportunity", world.opp(student), "便条"
    else:  # auth.login
        kind, ident, label = "user", student, None
    changes = {"action": "update" if fields else None, "fields": fields} if fields or related else None
    if changes is not None and related:
        changes["related"] = related
    return (at.isoformat(" ", "microseconds"), student, "student", f"student {student}", verb, kind, ident, label,
            json.dumps(changes) if changes is not None else None, json.dumps(params) if params is not None else None,
            klass, run_id, "10.0.0.1", None, 0)


def _entries(world: _World, total: int, start: Any, runs: dict[int, tuple[int, Any]], class_run: int,
             klass: int) -> Iterator[list[tuple[Any, ...]]]:
    """Batches of entries in time order; students differ in how busy they are (a few do most of the work)."""
    rng = world.rng
    busy = [rng.lognormvariate(0, 0.5) for _ in world.students]
    who = rng.choices(world.students, busy, k=total)
    what = rng.choices(list(MIX), list(MIX.values()), k=total)
    span = 15 * 86_400
    batch: list[tuple[Any, ...]] = []
    for i, (student, verb) in enumerate(zip(who, what, strict=True)):
        at = start + timedelta(seconds=span * (i + rng.random()) / total)
        rerun = runs.get(student)
        run_id = rerun[0] if rerun is not None and at >= rerun[1] else class_run
        batch.append(_entry(world, student, verb, at, run_id, klass))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_records(conn: Any, world: _World, klass: int, now: Any) -> None:
    """The leads, activities, lines and competitor rows the entries are about, as they stand at the end."""
    owned = {"class_id": klass, "created_at": now, "updated_at": now, "deleted_at": None, "version": 1}
    leads = [{**owned, "id": lead, "owner_id": student, "created_by_id": student, "name": f"线索 {lead}",
              "status": world.lead_status[lead]} for student, ids in world.leads.items() for lead in ids]
    for table, rows in ((Lead.__table__, leads), (Activity.__table__, world.activities),
                        (StageHistory.__table__, world.history),
                        (OpportunityLine.__table__, world.lines),
                        (OpportunityCompetitor.__table__, [{"id": ident, "opportunity_id": opp, "competitor_id": c,
                                                            "created_at": now} for (opp, c), ident in world.rivals.items()])):
        for start in range(0, len(rows), BATCH):
            conn.execute(insert(table), rows[start:start + BATCH])


def _records(world: _World, klass: int, now: Any) -> list[dict]:
    """Each student's opportunities; about a quarter won, many with lines and competitors (kept in `world`)."""
    rng = world.rng
    opps: list[dict] = []
    for student, ids in world.opps.items():
        for ident in ids:
            won = rng.random() < 0.25
            amount = Decimal(rng.choice([20_000, 40_000, 60_000, 120_000]))
            opps.append({"id": ident, "owner_id": student, "class_id": klass, "created_by_id": student,
                         "created_at": now, "updated_at": now, "deleted_at": None, "version": 1,
                         "name": f"项目 {ident}", "stage": "closed_won" if won else rng.choice(STAGES[:5]),
                         "probability": 100 if won else 30, "amount": amount, "type": "new_business"})
            if rng.random() < 0.6:
                world.line(ident, now)
            if rng.random() < 0.4:
                world.rival(ident, rng.randint(1, 5))
    return opps


def build(app: Flask, entries: int, seed: int = 20241201, say: Say | None = None,
          keep: dict[str, Any] | None = None) -> tuple[int, float]:
    """Migrate and fill the gradebook database; returns (class run id, seconds). `keep` receives the world and
    the class id, to write more entries later."""
    say = say or (lambda _m: None)
    start = time.perf_counter()
    create_schema(app)
    rng = random.Random(seed)
    tree = _Tree()
    pw = generate_password_hash(PASSWORD)
    root = tree.position(None, PositionKind.ORGANIZATION, "Bench School", None)
    teacher_node = tree.position(root, PositionKind.TEACHER, "Teacher Li", None)
    teacher = tree.user("teacher", "Teacher Li", Role.INSTRUCTOR, teacher_node, None, pw)
    klass = tree.position(teacher_node, PositionKind.CLASS, "Class 1", None, join_code="GRADE1")
    tree.positions[-1]["class_id"] = klass
    students = []
    for d in range(1, DEPARTMENTS + 1):
        dept = tree.position(klass, PositionKind.DEPARTMENT, f"Department {d}", klass)
        sales = tree.position(dept, PositionKind.POSITION, "Salesperson", klass)
        for s in range(1, PER_DEPARTMENT + 1):
            students.append(tree.user(f"s{d}_{s}", f"Student {d}-{s}", Role.STUDENT, sales, klass, pw))
    now = utcnow()
    began = now - timedelta(days=15)
    world = _World(rng, students, first_opp=1)
    reruns = {s: (2 + i, began + timedelta(days=5 + i)) for i, s in enumerate(rng.sample(students, 4))}
    text_ = scenario_text()
    run_rows = [{"id": 1, "class_id": klass, "student_id": None, "parent_id": None, "scenario_name": "sales-basics",
                 "scenario_text": text_, "seed": 1, "started_at": began, "deadline": now - timedelta(days=1),
                 "started_by_id": teacher, "rows": 0, "duration_ms": 0}]
    run_rows += [{**run_rows[0], "id": rid, "student_id": s, "parent_id": 1, "started_at": at}
                 for s, (rid, at) in reruns.items()]
    extensions = [{"run_id": 1, "student_id": s, "deadline": now + timedelta(days=2), "reason": "ill",
                   "granted_by_id": teacher, "created_at": now} for s in rng.sample(students, 5)]
    opps = _records(world, klass, began)
    with app.app_context():
        with bulk_connection() as conn:
            with conn.begin():
                insert_tree(conn, tree)
                conn.execute(insert(Run.__table__), run_rows)
                conn.execute(insert(DeadlineExtension.__table__), extensions)
                owned = {"owner_id": teacher, "class_id": klass, "created_by_id": teacher, "created_at": began,
                         "updated_at": began, "deleted_at": None, "version": 1}
                conn.execute(insert(Product.__table__), [{**owned, "id": p, "code": f"P{p}", "name": f"产品 {p}",
                                                          "list_price": Decimal(10_000 * p)} for p in range(1, 6)])
                conn.execute(insert(Competitor.__table__), [{**owned, "id": c, "name": f"竞争对手 {c}"}
                                                            for c in range(1, 6)])
                conn.execute(insert(Opportunity.__table__), opps)
                # Plain DBAPI executemany with the indexes dropped and rebuilt after: a bulk load, not app code.
                indexes = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'log_entries' "
                    "AND sql IS NOT NULL").all()
                for name, _sql in indexes:
                    conn.exec_driver_sql(f"DROP INDEX {name}")
                sql = (f"INSERT INTO log_entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})")
                done = 0
                for batch in _entries(world, entries, began, reruns, 1, klass):
                    conn.exec_driver_sql(sql, batch)
                    done += len(batch)
                    say(f"log entries: {done:,} / {entries:,}")
                _insert_records(conn, world, klass, began)
                say("log entries: indexing …")
                for _name, index_sql in indexes:
                    conn.exec_driver_sql(index_sql)
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        db.engine.dispose()
    if keep is not None:
        keep.update(world=world, klass=klass, run_id=1)
    return 1, time.perf_counter() - start


# What a few students do between two refreshes of the instructor's gradebook.
REFRESH_VERBS = ("lead.update", "activity.log_call", "opportunity.update", "lead.update", "opportunity.stage_change")


def add_entries(app: Flask, kept: dict[str, Any], count: int = 5) -> None:
    """`count` new entries by a few students, now, as the real services shape them (one commit)."""
    world, klass = kept["world"], kept["klass"]
    now = utcnow()
    rows = [_entry(world, world.rng.choice(world.students), REFRESH_VERBS[i % len(REFRESH_VERBS)], now,
                   kept["run_id"], klass) for i in range(count)]
    sql = f"INSERT INTO log_entries ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql(sql, rows)
        db.session.remove()


def forget_kept(app: Flask) -> None:
    """Drop the incremental gradebook's kept outcomes: the next computation is a cold one."""
    with app.app_context():
        incremental.forget()
        db.session.commit()
        db.session.remove()


BASELINE = text("SELECT actor_id, verb, count(*) FROM log_entries WHERE run_id = :run GROUP BY actor_id, verb")


def _graded(app: Flask, run_id: int) -> tuple[float, Any]:
    with app.app_context():
        access.use_viewer(access.SYSTEM)
        start = time.perf_counter()
        book = gradebook(db.session.get(Run, run_id))
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed, book


def _baseline(app: Flask, run_id: int) -> tuple[float, int]:
    with app.app_context():
        start = time.perf_counter()
        rows = db.session.execute(BASELINE, {"run": run_id}).all()
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed, len(rows)


def run(folder: Path, measure_cls: Any, quick: bool, say: Say) -> tuple[Any, str]:
    """Build the data; time the instructor's refresh after a few new entries (the measure) and the cold first
    computation against the aggregate query (interleaved medians); the measure and a table."""
    entries = QUICK_ENTRIES if quick else FULL_ENTRIES
    rounds = 3 if quick else 7
    app = bench_app(folder)
    say(f"gradebook: generating {entries:,} log entries for {DEPARTMENTS * PER_DEPARTMENT} students …")
    kept: dict[str, Any] = {}
    run_id, seconds = build(app, entries, say=say, keep=kept)
    say(f"gradebook: data ready in {seconds:.1f} s")
    _graded(app, run_id)  # warm-up: scenario parse, statement caches, page cache
    _baseline(app, run_id)
    cold: list[float] = []
    cold_base: list[float] = []
    for _ in range(max(3, rounds // 2)):
        forget_kept(app)
        cold.append(_graded(app, run_id)[0])
        cold_base.append(_baseline(app, run_id)[0])
    graded: list[float] = []
    base: list[float] = []
    book = None
    for _ in range(rounds):
        add_entries(app, kept)
        elapsed, book = _graded(app, run_id)
        graded.append(elapsed)
        base.append(_baseline(app, run_id)[0])
    if book is None or not any(row.total for row in book.rows):
        raise RuntimeError("the gradebook gave no student any points: the measure would mean nothing")
    forget_kept(app)
    full = _graded(app, run_id)[1]  # the refreshed book must be what a cold computation gives
    if [(r.student.id, r.total) for r in full.rows] != [(r.student.id, r.total) for r in book.rows]:
        raise RuntimeError("the refreshed gradebook differs from a full computation")
    value, baseline = statistics.median(graded) * 1000, statistics.median(base) * 1000
    measure = measure_cls("gradebook", round(value, 3), "ms", round(baseline, 3), round(baseline / value, 3))
    cold_ms, cold_base_ms = statistics.median(cold) * 1000, statistics.median(cold_base) * 1000
    with app.app_context():
        db.engine.dispose()
    totals = sorted(float(row.total) for row in book.rows)
    verdict = "ok" if measure.ratio >= TARGET else "BELOW"
    cold_ratio = cold_base_ms / cold_ms
    table = "\n".join([
        f"gradebook · {len(book.rows)} students × {len(book.objectives)} objectives over {entries:,} log entries"
        f" · built in {seconds:.1f} s · median of {rounds}",
        f"baseline: {' '.join(BASELINE.text.split())}",
        f"totals: min {totals[0]:.2f}, median {statistics.median(totals):.2f}, max {totals[-1]:.2f} of {book.max_total}",
        "refresh = the gradebook after 5 new entries by a few students (kept outcomes, the affected students scored"
        " again); cold = nothing kept, every student scored",
        "",
        f"{'measure':<32}{'gradebook ms':>14}{'baseline ms':>13}{'ratio':>8}  target ≥ {TARGET}",
        f"{'gradebook (refresh)':<32}{measure.value:>14.2f}{measure.baseline:>13.2f}{measure.ratio:>8.2f}  {verdict}",
        f"{'gradebook (cold)':<32}{cold_ms:>14.2f}{cold_base_ms:>13.2f}{cold_ratio:>8.2f}  "
        f"{'ok' if cold_ratio >= TARGET else 'BELOW'}",
    ])
    return measure, table
