"""The gradebook and the instructor's grading actions: deadlines and extensions, re-runs, whose work counts,
overrides (logged as a teacher's action), bad input, every shipped scenario (issue 4; SPEC §8.5–8.6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from sandbox import access
from sandbox.classroom.grading.gradebook import gradebook, progress_for, student_row, timeline
from sandbox.classroom.grading.services import GradingError, clear_override, extend_deadline, set_override
from sandbox.classroom.models import DeadlineExtension, GradeOverride
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry, set_actor
from sandbox.org.models import User, utcnow
from sandbox.records.services import NotAllowed, create_record, update_record
from tests.conftest import act_as
from tests.helpers import count
from tests.test_objectives import SCENARIOS, as_user, calls, convert, make_run, opportunity, reload, set_deadline, stages


def points(run, student, objective_id="log-calls") -> Decimal:
    return student_row(run, reload(User, student.id), evidence=False).cells[objective_id].points


def entries(verb: str) -> list[LogEntry]:
    return list(db.session.scalars(select(LogEntry).where(LogEntry.verb == verb).order_by(LogEntry.id)))


def test_gradebook_rows_totals_and_departments(app, classroom):
    run = make_run(classroom)
    calls(classroom.user("studentA"), 5)
    book = gradebook(run)
    assert book.max_total == 100 and [o.id for o in book.objectives][:2] == ["log-calls", "qualify-leads"]
    names = [row.student.username for row in book.rows]
    assert set(names) == {"managerA", "studentA", "peerA", "studentA2"}  # class A's students only
    by_name = {row.student.username: row for row in book.rows}
    assert by_name["studentA"].total == Decimal("15.00") and by_name["peerA"].total == 0  # 5 calls, 1 of 2 steps
    assert by_name["studentA"].department.name == "A1" and by_name["studentA2"].department.name == "A2"
    assert by_name["studentA"].run_id == run.id and by_name["studentA"].deadline == run.deadline
    only = gradebook(run, [reload(User, classroom.user("peerA").id)])
    assert [row.student.username for row in only.rows] == ["peerA"]


def test_entries_after_the_deadline_count_only_with_an_extension(app, classroom):
    run = make_run(classroom)
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    calls(student, 2)
    calls(peer, 2)
    cutoff = utcnow()
    calls(student, 2)
    calls(peer, 2)
    set_deadline(run, cutoff)
    assert points(run, student) == points(run, peer) == Decimal("4.00")
    as_user(classroom.user("teacher"), extend_deadline, run, student, utcnow() + timedelta(days=1), "Was ill")
    assert points(run, student) == Decimal("8.00") and points(run, peer) == Decimal("4.00")
    row = student_row(run, reload(User, student.id))
    assert row.deadline > cutoff
    entry = entries("grade.extend_deadline")[0]
    assert entry.actor_id == classroom.user("teacher").id and entry.as_teacher and entry.run_id == run.id
    assert entry.class_id == classroom.classes["A"].id
    # A second extension replaces the first (one per student and class run); a timezone-aware time is UTC.
    as_user(classroom.user("teacher"), extend_deadline, run, student, datetime.now(UTC) + timedelta(minutes=1))
    assert count(DeadlineExtension) == 1 and points(run, student) == Decimal("8.00")
    assert db.session.scalar(select(DeadlineExtension.deadline)).tzinfo is None


def test_extension_refuses_a_deadline_before_the_run_and_bad_students(app, classroom):
    run = make_run(classroom)
    teacher, student = classroom.user("teacher"), classroom.user("studentA")
    with pytest.raises(GradingError) as caught:
        as_user(teacher, extend_deadline, run, student, run.started_at - timedelta(minutes=1))
    assert caught.value.field == "deadline" and "after the run started" in caught.value.message
    with pytest.raises(GradingError) as caught:
        as_user(teacher, extend_deadline, run, student, "tomorrow")
    assert caught.value.field == "deadline"
    with pytest.raises(GradingError) as caught:
        as_user(teacher, extend_deadline, run, classroom.user("studentB"), utcnow() + timedelta(days=3))
    assert caught.value.field == "student_id"
    db.session.rollback()
    assert count(DeadlineExtension) == 0 and entries("grade.extend_deadline") == []


def test_a_students_rerun_replaces_their_old_entries(app, classroom):
    run = make_run(classroom)
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    calls(student, 3)
    calls(peer, 3)
    rerun = make_run(classroom, parent=run, student=student)
    assert points(run, student) == 0 and points(run, peer) == Decimal("6.00")  # the old run no longer counts
    calls(student, 1)
    assert points(run, student) == Decimal("2.00")
    row = student_row(run, reload(User, student.id))
    assert row.run_id == rerun.id
    assert [e.verb for e in timeline(run, reload(User, student.id))] == ["lead.create", "activity.log_call"]
    # Grading a student's re-run is grading its class run.
    assert gradebook(rerun).class_run.id == run.id


def test_only_the_students_own_work_counts(app, classroom, make_lead):
    run = make_run(classroom)
    student, teacher = classroom.user("studentA"), classroom.user("teacher")
    lead = make_lead(student, name="Shared lead")
    calls(classroom.user("peerA"), 5)
    calls(teacher, 5, lead)  # the teacher works on the student's lead: not the student's work
    as_user(teacher, update_record, reload(Lead, lead.id), {"status": "qualified"})
    assert points(run, student) == 0 and points(run, student, "qualify-leads") == 0
    as_user(teacher, set_override, run, student, "log-calls", "3", "Called from the classroom phone")
    row = student_row(run, reload(User, student.id))
    assert row.cells["log-calls"].outcome.done == 0  # the override entry is no call of the student's


def test_override_replaces_points_and_is_a_logged_teacher_action(app, classroom):
    run = make_run(classroom)
    student, teacher = classroom.user("studentA"), classroom.user("teacher")
    calls(student, 2)
    override = as_user(teacher, set_override, run, student, "log-calls", Decimal("9"), "  Calls on paper count  ")
    assert (override.points, override.comment, override.set_by_id) == (Decimal("9.00"), "Calls on paper count", teacher.id)
    row = student_row(run, reload(User, student.id))
    cell = row.cells["log-calls"]
    assert cell.points == Decimal("9.00") and cell.outcome.points == Decimal("4.00") and cell.override.id == override.id
    assert row.total == Decimal("14.00")  # 9 + half of call-before-convert
    entry = entries("grade.override")[0]
    assert (entry.actor_id, entry.as_teacher, entry.object_type) == (teacher.id, True, "grade_override")
    assert entry.run_id == run.id and entry.class_id == classroom.classes["A"].id
    assert entry.changes["fields"]["points"][1] == "9.00"
    assert "set 9.00 of 10 points on objective log-calls" in entry.summary
    # Manual objectives only get points this way; a second override replaces the first.
    as_user(teacher, set_override, run, student, "visit-notes", "7.5", "Clear needs and next step")
    as_user(teacher, set_override, run, student, "visit-notes", 8, "Re-read: budget named too")
    assert count(GradeOverride) == 2 and student_row(run, reload(User, student.id)).total == Decimal("22.00")
    as_user(teacher, clear_override, run, student, "log-calls")
    assert points(run, student) == Decimal("4.00") and len(entries("grade.clear_override")) == 1
    with pytest.raises(GradingError) as caught:
        as_user(teacher, clear_override, run, student, "log-calls")
    assert caught.value.field == "objective_id"


@pytest.mark.parametrize(("objective_id", "value", "comment", "field", "message"), [
    ("log-calls", "11", "Too much", "points", "between 0 and 10 points"),
    ("log-calls", "-1", "Negative", "points", "between 0 and 10 points"),
    ("log-calls", "lots", "Not a number", "points", "as a number"),
    ("log-calls", None, "Nothing", "points", "as a number"),
    ("log-calls", "5", "   ", "comment", "Add a comment"),
    ("log-calls", "5", None, "comment", "Add a comment"),
    ("log-calls", "5", "x" * 1001, "comment", "under 1000 characters"),
    ("no-such-objective", "5", "Unknown", "objective_id", "no objective “no-such-objective”"),
])
def test_bad_override_input_changes_nothing(app, classroom, objective_id, value, comment, field, message):
    run = make_run(classroom)
    with pytest.raises(GradingError) as caught:
        as_user(classroom.user("teacher"), set_override, run, classroom.user("studentA"), objective_id, value, comment)
    assert caught.value.field == field and message in caught.value.message
    db.session.rollback()
    act_as(None)
    assert count(GradeOverride) == 0 and entries("grade.override") == []


def test_only_staff_of_the_class_grade_it(app, classroom):
    run = make_run(classroom)
    for who in ("teacher2", "studentA", "readonlyA"):
        with pytest.raises(NotAllowed):
            as_user(classroom.user(who), set_override, run, classroom.user("studentA"), "log-calls", "5", "No")
        db.session.rollback()
    as_user(classroom.user("admin"), set_override, run, classroom.user("studentA"), "log-calls", "5", "Admin may")
    with pytest.raises(GradingError):  # a student of another class
        as_user(classroom.user("teacher"), set_override, run, classroom.user("studentB"), "log-calls", "5", "No")
    db.session.rollback()
    assert count(GradeOverride) == 1


def test_a_missing_viewer_is_refused_not_taken_for_the_system(app, classroom):
    run = make_run(classroom)
    student, teacher = classroom.user("studentA"), classroom.user("teacher")
    act_as(None)  # the system, passed explicitly (CLI and jobs), may grade
    set_override(run, student, "log-calls", "5", "Set by a job")
    db.session.commit()
    refused = (lambda: set_override(run, student, "log-calls", "7", "No viewer"),
               lambda: clear_override(run, student, "log-calls"),
               lambda: extend_deadline(run, student, utcnow() + timedelta(days=1), "No viewer"))
    for viewer in (None, access.viewer_for(classroom.user("admin"))):  # none at all; someone else's
        for action in refused:
            set_actor(teacher)
            access.use_viewer(viewer)
            with pytest.raises(NotAllowed):
                action()
            db.session.rollback()
    act_as(None)
    assert count(GradeOverride) == 1 and count(DeadlineExtension) == 0
    assert len(entries("grade.override")) == 1 and entries("grade.clear_override") == entries("grade.extend_deadline") == []
    assert points(run, student) == Decimal("5.00")


def test_progress_and_timeline_for_the_student(app, classroom):
    student = classroom.user("studentA")
    assert progress_for(student) == (None, None)
    run = make_run(classroom)
    lead = calls(student, 1)
    convert(student, lead)
    calls(classroom.user("peerA"), 1)
    found, row = progress_for(reload(User, student.id))
    assert found.id == run.id and row.student.id == student.id
    converted = row.cells["call-before-convert"].outcome
    assert converted.met and converted.entry_ids  # the checklist ticks, with its evidence
    verbs = [e.verb for e in timeline(run, reload(User, student.id))]
    assert verbs[:2] == ["lead.create", "activity.log_call"] and "lead.convert" in verbs
    assert all(e.actor_id == student.id for e in timeline(run, reload(User, student.id)))
    assert [e.verb for e in timeline(run, reload(User, student.id), limit=1)] == [verbs[-1]]
    assert progress_for(classroom.user("teacher")) == (None, None)


def test_every_shipped_scenario_grades_an_empty_and_a_busy_run(app, classroom):
    student = classroom.user("studentA")
    for path in sorted(SCENARIOS.glob("*.yaml")):
        run = make_run(classroom, text=path.read_text(encoding="utf-8"), name=path.stem)
        book = gradebook(run, evidence=True)
        assert book.rows and all(row.total == 0 for row in book.rows), path.name
        assert {o.id for o in book.objectives} == set(book.rows[0].cells), path.name
    # The busy run is a sales one (the Service desk, last by name, grades case work: tests/test_objectives_service.py).
    run = make_run(classroom, text=(SCENARIOS / "sales-basics.yaml").read_text(encoding="utf-8"), name="sales-basics")
    lead = calls(student, 1)
    as_user(student, update_record, reload(Lead, lead.id), {"status": "qualified"})
    convert(student, lead, create_opportunity=True, opportunity_name="From the lead", amount=Decimal("500"),
            close_date=utcnow().date())
    stages(student, opportunity(student), "qualification", "closed_won")
    as_user(student, create_record, Lead, {"name": "More", "status": "new"})
    row = student_row(run, reload(User, student.id))
    assert row.total > 0 and all(cell.outcome.reason for cell in row.cells.values())
