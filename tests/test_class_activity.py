"""Class activity (SPEC §8.7): actions per student per 10 minutes, inactive students, integrity hints, the page."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event

from sandbox.classroom.activity.class_log import activity_series, class_log, inactive_students, integrity_hints
from sandbox.classroom.models import Run
from sandbox.classroom.runs.lookup import class_students, forget_run_ids
from sandbox.extensions import db
from sandbox.oplog import LogEntry, current_op, operation
from sandbox.org.models import Position, User, utcnow
from sandbox.records.notes import add_note
from sandbox.records.services import update_record
from tests.conftest import act_as

T0 = datetime(2024, 5, 6, 9, 3)  # a run long over: the chart ends at the last action, not now


@operation("scenario.load")
def open_run(klass: Position, started_at: datetime, deadline: datetime, student: User | None = None,
             parent: Run | None = None) -> Run:
    """A bare run (no data loaded): what the loader records, for tests that bring their own entries and books."""
    run = Run(class_id=klass.id, student_id=student.id if student else None, parent_id=parent.id if parent else None,
              scenario_name="sales-basics", scenario_text="", seed=1, started_at=started_at, deadline=deadline)
    db.session.add(run)
    db.session.flush()
    op = current_op()
    op.target(run)
    op.class_id, op.run_id = klass.id, run.id
    forget_run_ids()
    return run


def make_run(classroom: Any, started_at: datetime = T0, hours: int = 3, **kw: Any) -> Run:
    act_as(None)
    run = open_run(classroom.classes["A"], started_at, started_at + timedelta(hours=hours), **kw)
    db.session.commit()
    return run


def entry(student: User, at: datetime, run: Run | None, verb: str = "lead.update", request_id: str | None = None,
          changes: dict | None = None) -> LogEntry:
    """A log entry at a chosen time (LogEntry is not audited: tests may insert it directly)."""
    e = LogEntry(at=at, actor_id=student.id, actor_role="student", actor_label=student.display_name, verb=verb,
                 object_type="lead", object_id=1, object_label="Li Lei", changes=changes, class_id=student.class_id,
                 run_id=run.id if run else None, request_id=request_id)
    db.session.add(e)
    return e


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def students_of_a(classroom: Any) -> list[User]:
    return class_students(classroom.classes["A"].id)


# ---- actions per 10 minutes and inactivity -------------------------------------------------------------------

def test_actions_are_counted_per_student_per_ten_minutes(app, classroom):
    u = classroom.user
    run = make_run(classroom)
    entry(u("studentA"), at(2), run)  # 09:05
    entry(u("studentA"), at(6), run)  # 09:09
    entry(u("studentA"), at(9), run, request_id="r1")  # 09:12: one request writing two entries is one action
    entry(u("studentA"), at(9.01), run, request_id="r1")
    entry(u("peerA"), at(28), run)  # 09:31
    entry(u("peerA"), at(5), None)  # no run: not counted
    entry(u("teacher"), at(5), run)  # not a student of the class
    entry(u("studentB"), at(5), run)  # another class's student
    db.session.commit()
    students = students_of_a(classroom)

    buckets, series = activity_series(run, students)

    assert buckets == [datetime(2024, 5, 6, 9, m) for m in (0, 10, 20, 30)]
    assert series[u("studentA").id] == [2, 1, 0, 0]
    assert series[u("peerA").id] == [0, 0, 0, 1]
    assert series[u("studentA2").id] == [0, 0, 0, 0]
    assert set(series) == {s.id for s in students}


def test_a_student_with_a_rerun_counts_in_that_run_only(app, classroom):
    u = classroom.user
    run = make_run(classroom)
    entry(u("studentA2"), at(1), run)  # before the re-run: replaced by it
    rerun = make_run(classroom, started_at=at(15), student=u("studentA2"), parent=run)
    entry(u("studentA2"), at(16), rerun)
    entry(u("studentA"), at(16), rerun)  # someone else's re-run is not studentA's
    db.session.commit()

    _buckets, series = activity_series(run, students_of_a(classroom))

    assert series[u("studentA2").id] == [0, 1]
    assert series[u("studentA").id] == [0, 0]


def test_a_live_run_is_drawn_until_now(app, classroom):
    start = utcnow() - timedelta(minutes=35)
    run = make_run(classroom, started_at=start)
    entry(classroom.user("studentA"), start + timedelta(minutes=1), run)
    db.session.commit()

    buckets, series = activity_series(run, students_of_a(classroom))

    assert buckets[0] <= start < buckets[0] + timedelta(minutes=10)
    assert buckets[-1] <= utcnow() < buckets[-1] + timedelta(minutes=10)
    assert sum(series[classroom.user("studentA").id]) == 1


def test_inactive_students_by_threshold(app, classroom):
    u = classroom.user
    run = make_run(classroom)
    entry(u("studentA"), at(9), run)  # 09:12
    entry(u("peerA"), at(28), run)  # 09:31
    db.session.commit()
    students = students_of_a(classroom)
    now = datetime(2024, 5, 6, 9, 40)

    quiet = inactive_students(run, students, 15, now=now)

    # Never acted (and the run began 37 minutes ago) first, then the longest quiet.
    assert [(s.username, last) for s, last in quiet] == [("managerA", None), ("studentA2", None), ("studentA", at(9))]
    assert inactive_students(run, students, 5, now=now)[-1][0].username == "peerA"
    # A threshold longer than the run so far: those who acted are not inactive; those who never acted still are.
    assert [s.username for s, _last in inactive_students(run, students, 60, now=now)] == ["managerA", "studentA2"]


def test_students_who_never_acted_are_inactive_from_the_start(app, classroom):
    run = make_run(classroom, started_at=utcnow() - timedelta(minutes=2))
    entry(classroom.user("studentA"), utcnow() - timedelta(minutes=1), run)
    db.session.commit()

    quiet = inactive_students(run, students_of_a(classroom), 15)

    assert {s.username for s, _last in quiet} == {"managerA", "peerA", "studentA2"}
    assert all(last is None for _s, last in quiet)


# ---- integrity hints ----------------------------------------------------------------------------------------

def test_burst_faster_than_a_person_clicks_is_a_hint(app, classroom):
    u = classroom.user
    run = make_run(classroom)
    for i in range(6):  # 0.3 s apart
        entry(u("studentA"), at(10) + timedelta(seconds=0.3 * i), run)
    for i in range(8):  # 5 s apart: a quick but human pace
        entry(u("peerA"), at(10) + timedelta(seconds=5 * i), run)
    for i in range(6):  # one request's entries (a lead conversion writes several) are one click
        entry(u("studentA2"), at(20) + timedelta(milliseconds=20 * i), run, request_id="conversion")
    db.session.commit()

    hints = integrity_hints(run, students_of_a(classroom))

    assert [(h.kind, [s.username for s in h.students]) for h in hints] == [("burst", ["studentA"])]
    burst = hints[0]
    assert len(burst.evidence) == 6 and burst.params["count"] == 6
    assert all(e.entry.actor_id == u("studentA").id for e in burst.evidence)
    assert "not proof" in burst.explanation


def test_the_same_free_text_from_two_students_is_a_hint(app, classroom, make_lead):
    u = classroom.user
    lead_a = make_lead(u("studentA"))
    lead_p = make_lead(u("peerA"), company="Suzhou Silk")
    make_run(classroom, started_at=utcnow(), hours=2)
    shared = "Customer wants a quote for 200 boxes before Friday."
    for student, lead in (("studentA", lead_a), ("peerA", lead_p)):
        act_as(u(student))
        add_note(lead, shared if student == "studentA" else "  customer wants a QUOTE for 200 boxes\nbefore Friday. ")
    make_lead(u("studentA2"), description="We both wrote this rather long description.")
    make_lead(u("managerA"), description="We both wrote this rather long description.")
    act_as(u("studentA"))
    add_note(lead_a, "Only studentA wrote this sentence, twice.")
    add_note(lead_a, "Only studentA wrote this sentence, twice.")
    add_note(lead_a, "Short one")  # too short to compare
    db.session.commit()
    act_as(None)

    hints = [h for h in integrity_hints(db.session.get(Run, _current_run_id(classroom)), students_of_a(classroom))
             if h.kind == "same_text"]

    pairs = sorted(sorted(s.username for s in h.students) for h in hints)
    assert pairs == [["managerA", "studentA2"], ["peerA", "studentA"]]
    note_hint = next(h for h in hints if "peerA" in {s.username for s in h.students})
    assert {e.entry.verb for e in note_hint.evidence} == {"note.create"}
    assert "before drawing any conclusion" in note_hint.explanation


def _current_run_id(classroom: Any) -> int:
    from sandbox.classroom.runs.lookup import current_class_run

    return current_class_run(classroom.classes["A"].id).id


def test_a_value_from_another_students_book_is_a_hint(app, classroom, make_lead):
    u = classroom.user
    # The generated books: records made before the run started.
    make_lead(u("studentA"), name="Wang Fang", company="Hangzhou Tea Co.", phone="0571-8888 1234")
    make_lead(u("peerA"), name="Zhao Lei", company="Suzhou Silk Ltd", phone="0512-6666 5678",
              email="zhao.lei@suzhousilk.cn")
    for student in ("peerA", "studentA2", "managerA"):  # a company in three books is common, not evidence
        make_lead(u(student), company="China Mobile")
    make_run(classroom, started_at=utcnow(), hours=2)
    make_lead(u("studentA"), name="Zhao Lei", company="Suzhou Silk Ltd")  # peerA's contact and company
    make_lead(u("studentA"), name="Someone", company="Hangzhou Tea Co.")  # their own company
    make_lead(u("studentA"), name="Another", company="China Mobile")  # common
    own = make_lead(u("peerA"), name="Li Na", company="Ningbo Ports")
    act_as(u("peerA"))
    update_record(own, {"phone": "0571 88881234"}, own.version)  # studentA's phone, typed differently
    db.session.commit()
    act_as(None)

    hints = integrity_hints(db.session.get(Run, _current_run_id(classroom)), students_of_a(classroom))

    found = sorted(([s.username for s in h.students], sorted(h.params["values"])) for h in hints
                   if h.kind == "foreign_value")
    assert found == [
        (["peerA", "studentA"], [("phone", "0571 88881234")]),
        (["studentA", "peerA"], [("company", "Suzhou Silk Ltd"), ("person", "Zhao Lei")]),
    ]
    copied = next(h for h in hints if h.kind == "foreign_value" and h.students[0].username == "studentA")
    assert [(e.entry.verb, e.value) for e in copied.evidence] == [("lead.create", "Zhao Lei; Suzhou Silk Ltd")]
    assert "Suzhou Silk Ltd" in copied.explanation and "legitimate" in copied.explanation


def test_values_carried_from_a_record_the_student_acted_on_are_not_a_hint(app, classroom, make_lead):
    """A department manager converting a subordinate's lead copies its company into a new account: no copying."""
    u = classroom.user
    lead = make_lead(u("studentA"), name="Wang Fang", company="Hangzhou Tea Co.", phone="0571-8888 1234")
    make_run(classroom, started_at=utcnow(), hours=2)
    manager = classroom.client_for(app, "managerA")
    form = {"account_mode": "new", "contact_id": "0", "create_opportunity": "y", "opportunity_name": "Tea deal",
            "stage": "prospecting", "close_date": "2030-01-01"}
    assert manager.post(f"/leads/{lead.id}/convert", data=form).status_code == 302
    make_lead(u("studentA2"), name="Someone else", company="Hangzhou Tea Co.")  # typed in a lead of their own
    act_as(None)

    hints = integrity_hints(db.session.get(Run, _current_run_id(classroom)), students_of_a(classroom))

    assert [(h.kind, [s.username for s in h.students]) for h in hints] == [("foreign_value", ["studentA2", "studentA"])]


def test_few_queries_whatever_the_number_of_entries(app, classroom):
    students = students_of_a(classroom)
    run = make_run(classroom)
    for i in range(400):
        student = students[i % len(students)]
        entry(student, at(i * 0.4), run, changes={"action": "update", "fields": {"description": [None, f"text {i} " * 4]}})
    db.session.commit()
    students, run = students_of_a(classroom), db.session.get(Run, run.id)  # loaded again after the commit
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        log = class_log(run, students)
        activity_series(run, students, log=log)
        inactive_students(run, students, 15, log=log)
        integrity_hints(run, students, log=log)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 8, "\n".join(s.split("\n")[0][:90] for s in statements)


# ---- the page -----------------------------------------------------------------------------------------------

def _page_world(classroom: Any) -> Run:
    u = classroom.user
    start = utcnow() - timedelta(minutes=40)
    run = make_run(classroom, started_at=start)
    for i in range(6):
        entry(u("studentA"), start + timedelta(minutes=30, seconds=0.2 * i), run)
    entry(u("peerA"), start + timedelta(minutes=5), run)
    db.session.commit()
    return run


def test_the_page_shows_chart_inactive_students_and_hints_to_staff_and_observer(app, classroom):
    run = _page_world(classroom)
    klass = classroom.classes["A"]
    for who in ("teacher", "readonlyA", "admin"):
        response = classroom.client_for(app, who).get(f"/grading/activity?class_id={klass.id}&minutes=20")
        assert response.status_code == 200, who
        html = response.get_data(as_text=True)
        assert 'data-kind="burst"' in html
        assert f"/grading/students/{classroom.user('studentA').id}" in html
        data = json.loads(re.search(r'<script type="application/json" id="activity-data">(.*?)</script>', html, re.S)[1])
        by_name = {d["label"]: d["data"] for d in data["datasets"]}
        assert sum(by_name["Studenta"]) == 6 and sum(by_name["Peera"]) == 1
        assert len(data["labels"]) == len(by_name["Studenta"])
        inactive = html[html.index('data-testid="inactive"'):html.index('data-testid="hints"')]
        assert "Peera" in inactive and "Studenta</a>" not in inactive  # quiet 35 minutes vs. 10
    default = classroom.client_for(app, "teacher").get(f"/grading/activity?run={run.id}")
    assert default.status_code == 200 and "Class A" in default.get_data(as_text=True)


def test_other_classes_staff_get_404_and_students_403(app, classroom):
    _page_world(classroom)
    klass = classroom.classes["A"]
    assert classroom.client_for(app, "teacher2").get(f"/grading/activity?class_id={klass.id}").status_code == 404
    for who in ("studentA", "managerA"):
        client = classroom.client_for(app, who)
        assert client.get(f"/grading/activity?class_id={klass.id}").status_code == 403, who
        assert client.get("/grading/activity").status_code == 403, who
    assert classroom.client_for(app, "teacher").get("/grading/activity?class_id=abc").status_code == 404


def test_bad_minutes_and_run_get_a_message_not_a_500(app, classroom):
    _page_world(classroom)
    client = classroom.client_for(app, "teacher")
    klass = classroom.classes["A"]
    for bad in ("abc", "0", "-5", "99999999999999999999", "1.5"):
        response = client.get(f"/grading/activity?class_id={klass.id}&minutes={bad}")
        assert response.status_code == 200, bad
        html = response.get_data(as_text=True)
        assert 'data-testid="problem"' in html and "showing students inactive for 15 minutes" in html, bad
    response = client.get(f"/grading/activity?class_id={klass.id}&run=nope")
    assert response.status_code == 200 and "has no run" in response.get_data(as_text=True)


def test_a_class_without_a_run_shows_the_way_to_scenarios(app, classroom):
    response = classroom.client_for(app, "teacher2").get(f"/grading/activity?class_id={classroom.classes['C'].id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="no-run"' in html and 'href="/scenarios/"' in html


def test_undo_and_redo_is_a_hint_and_ordinary_corrections_are_not(app, classroom):
    u = classroom.user
    run = make_run(classroom)
    statuses = ["new", "qualified", "contacted", "qualified", "contacted", "qualified"]
    for i, (old, new) in enumerate(zip(statuses, statuses[1:], strict=False)):  # a minute apart: no burst
        entry(u("studentA"), at(10 + i), run, changes={"fields": {"status": [old, new]}})
    for i, verb in enumerate(["opportunity.add_line", "opportunity.remove_line", "opportunity.add_line"]):
        e = entry(u("studentA"), at(30 + i), run, verb=verb)
        e.object_type, e.object_id = "opportunity", 7
    # peerA corrects a typo once and moves a lead forward: ordinary work.
    entry(u("peerA"), at(10), run, changes={"fields": {"phone": ["0571-1", "0571-2"]}})
    entry(u("peerA"), at(11), run, changes={"fields": {"phone": ["0571-2", "0571-1"]}})
    entry(u("peerA"), at(12), run, changes={"fields": {"status": ["new", "contacted"]}})
    db.session.commit()

    hints = [h for h in integrity_hints(run, students_of_a(classroom)) if h.kind == "undo_redo"]

    assert [[s.username for s in h.students] for h in hints] == [["studentA"]]
    assert hints[0].params == {"count": 4, "records": 2}  # qualified, contacted, qualified again; a line removed
    assert "took back 4 of their own changes on 2 records" in hints[0].explanation  # ngettext: "1 record"
    assert "Undo and redo" in classroom.client_for(app, "teacher").get(
        f"/grading/activity?class_id={classroom.classes['A'].id}&lang=en").get_data(as_text=True)
