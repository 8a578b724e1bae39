"""Per-objective invalidation of the incremental gradebook (classroom/grading/incremental.py).

An entry re-scores only the objectives that read the record types it changed, for the students it can
affect; every other kept outcome (evidence included) is reused. Each test below would fail if an
invalidation missed its case: the outcome kept from before the entry would be served instead of the new one,
and the comparison with a computation from scratch (`from_scratch`) would differ.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.classroom.grading import incremental
from sandbox.classroom.grading.gradebook import gradebook, student_row
from sandbox.classroom.grading.services import extend_deadline
from sandbox.classroom.objectives.checks import Document
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.org.models import Role, User, utcnow
from sandbox.org.services import create_user
from sandbox.records.notes import add_note, delete_note
from sandbox.records.services import create_record, delete_record, update_record
from tests.conftest import PASSWORD
from tests.test_gradebook_incremental import _plain, from_scratch, scenario
from tests.test_objectives import as_user, calls, make_run, reload, set_deadline

ACTIVITY_OBJECTIVES = {"log-calls", "call-before-convert", "work-a-lead"}
LEAD_OBJECTIVES = {"qualify-leads", "disqualify-lead", "convert-leads", "call-before-convert", "qualified-owned",
                   "work-a-lead"}


@pytest.fixture
def scored(monkeypatch):
    """(objective id, sorted student ids) of every evaluation the incremental gradebook makes."""
    seen: list[tuple[str, tuple[int, ...]]] = []
    real = incremental.evaluate

    def spy(objective, ctx):
        seen.append((objective.id, tuple(sorted(ctx.student_ids))))
        return real(objective, ctx)

    monkeypatch.setattr(incremental, "evaluate", spy)
    return seen


def row_of(run, student: User, evidence: bool = True):
    return student_row(reload(type(run), run.id), reload(User, student.id), evidence=evidence)


def assert_row_right(run, student: User) -> None:
    """The student's row with evidence (/me/progress) and the gradebook's line equal a computation from scratch."""
    db.session.expire_all()
    run = reload(type(run), run.id)
    student = reload(User, student.id)
    row = row_of(run, student)
    assert {(student.id, o): _plain(c.outcome) for o, c in row.cells.items()} == from_scratch(run, [student], True)
    line = {r.student.id: r for r in gradebook(run).rows}[student.id]
    assert {(student.id, o): _plain(c.outcome) for o, c in line.cells.items()} == from_scratch(run, [student], False)


def test_depends_on_names_what_each_kind_reads(app, classroom):
    run_objectives = {o.id: o for o in make_run(classroom, text=scenario()).scenario.objectives}
    assert incremental.depends_on(run_objectives["log-calls"]) == {"activity"}
    assert incremental.depends_on(run_objectives["qualify-leads"]) == {"lead"}
    assert incremental.depends_on(run_objectives["first-won-deal"]) == {"opportunity"}
    assert incremental.depends_on(run_objectives["work-a-lead"]) == {"lead", "activity"}
    assert incremental.depends_on(run_objectives["visit-notes"]) == {"note", "attachment"}
    # The subject of a call with an origin is a record of any type: any entry may decide it.
    odd = run_objectives["log-calls"].model_copy(
        update={"check": run_objectives["log-calls"].check.model_copy(update={"origin": "created"})})
    assert incremental.depends_on(odd) is None
    # What the record must still hold: not deleted, the value set; a child row or a note takes any change.
    assert incremental.fields_read(run_objectives["qualify-leads"]) == {"deleted_at", "status"}
    assert incremental.fields_read(run_objectives["add-lines"]) is None
    assert incremental.fields_read(run_objectives["first-won-deal"]) is None
    # An entry touches its object (verb noun, object type), every row its operation changed, these columns.
    assert incremental._touches("lead.convert", "lead", {"action": "update", "fields": {"status": ["new", "converted"]},
                                                         "related": [{"type": "account", "id": 1, "action": "create"}]}) \
        == ({"lead"}, {"account"}, {"status"})
    assert incremental._touches("note.delete", "lead", {"action": None, "fields": {}, "related": [
        {"type": "note", "id": 3, "action": "update"}]}) == ({"note", "lead"}, {"note"}, None)
    assert incremental._touches("lead.create", "lead", {"action": "create", "fields": {"status": [None, "new"]}}) \
        == ({"lead"}, set(), set())  # a new record: no earlier entry is about it
    assert incremental._touches("lead.update", "lead", {"action": "update", "fields": {}}) == ({"lead"}, set(), None)


def test_a_call_rescores_only_the_objectives_that_read_activities_and_keeps_the_others(app, classroom, scored):
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    calls(student, 2)
    fresh = as_user(student, create_record, Lead, {"name": "Not called yet", "company": "C", "status": "new"})
    row_of(run, student)
    gradebook(run)
    scored.clear()
    calls(student, 1, reload(Lead, fresh.id))
    gradebook(run)
    assert {o for o, _s in scored} == ACTIVITY_OBJECTIVES and {s for _o, s in scored} == {(student.id,)}
    scored.clear()
    # The gradebook took the entry in: /me/progress (another view) still finds its marks and re-scores the same.
    row = row_of(run, student)
    assert {o for o, _s in scored} == ACTIVITY_OBJECTIVES
    assert row.cells["log-calls"].outcome.done == 3 and len(row.cells["log-calls"].outcome.entry_ids) == 3
    assert_row_right(run, student)


def test_a_teachers_delete_rescores_a_kept_outcome_of_the_student_in_both_views(app, classroom, scored):
    run = make_run(classroom, text=scenario())
    student, teacher = classroom.user("studentA"), classroom.user("teacher")
    lead = as_user(student, create_record, Lead, {"name": "L", "company": "C", "status": "new"})
    as_user(student, update_record, reload(Lead, lead.id), {"status": "qualified"})
    assert row_of(run, student).cells["qualify-leads"].outcome.done == 1
    gradebook(run)
    scored.clear()
    as_user(teacher, delete_record, reload(Lead, lead.id))  # the teacher's entry, on the student's record
    gradebook(run)
    assert ("qualify-leads", (student.id,)) in scored and "log-calls" not in {o for o, _s in scored}
    row = row_of(run, student)
    assert row.cells["qualify-leads"].outcome.done == 0 and row.cells["qualify-leads"].outcome.entry_ids == []
    assert_row_right(run, student)


def test_an_undone_status_takes_the_point_back_from_the_kept_outcome(app, classroom):
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    lead = as_user(student, create_record, Lead, {"name": "L", "company": "C", "status": "new"})
    as_user(student, update_record, reload(Lead, lead.id), {"status": "qualified"})
    assert row_of(run, student).cells["qualify-leads"].outcome.done == 1
    assert {r.student.id: r for r in gradebook(run).rows}[student.id].cells["qualify-leads"].outcome.done == 1
    as_user(student, update_record, reload(Lead, lead.id), {"status": "new"})  # undo
    assert row_of(run, student).cells["qualify-leads"].outcome.done == 0
    assert {r.student.id: r for r in gradebook(run).rows}[student.id].cells["qualify-leads"].outcome.done == 0
    as_user(student, update_record, reload(Lead, lead.id), {"status": "qualified"})  # redo: still one lead
    assert row_of(run, student).cells["qualify-leads"].outcome.done == 1
    assert_row_right(run, student)


def test_a_peers_work_on_a_shared_record_rescores_its_owner(app, classroom):
    run = make_run(classroom, text=scenario())
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    lead = as_user(student, create_record, Lead, {"name": "L", "company": "C", "status": "new"})
    as_user(student, update_record, reload(Lead, lead.id), {"status": "qualified"})
    as_user(student, update_record, reload(Lead, lead.id), {"status": "new"})
    as_user(student, update_record, reload(Lead, lead.id), {"status": "qualified"})
    row_of(run, student)
    gradebook(run)
    # The teacher (not the student) sets the lead back: the student's qualification no longer stands.
    as_user(classroom.user("teacher"), update_record, reload(Lead, lead.id), {"status": "contacted"})
    assert row_of(run, student).cells["qualify-leads"].outcome.done == 0
    assert_row_right(run, student)
    assert_row_right(run, peer)


def test_a_deleted_note_is_marked_in_the_kept_evidence_of_the_manual_objective(app, classroom, scored):
    run = make_run(classroom, text=scenario())
    student, teacher = classroom.user("studentA"), classroom.user("teacher")
    lead = as_user(student, create_record, Lead, {"name": "L", "company": "C", "status": "new"})
    note = as_user(student, add_note, reload(Lead, lead.id), "Visited the tea farm")
    documents = row_of(run, student).cells["visit-notes"].outcome.documents
    assert [d.deleted_at for d in documents] == [None]
    gradebook(run)
    scored.clear()
    from sandbox.records.models import Note

    as_user(teacher, delete_note, reload(Lead, lead.id), reload(Note, note.id))
    row = row_of(run, student)
    assert ("visit-notes", (student.id,)) in scored
    (document,) = row.cells["visit-notes"].outcome.documents
    assert isinstance(document, Document) and document.deleted_at is not None and document.deleted_by == "Teacher"
    assert_row_right(run, student)


def test_an_extension_rescores_and_counts_work_after_the_class_deadline(app, classroom):
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    set_deadline(run, utcnow() - timedelta(minutes=1))
    run = reload(type(run), run.id)
    calls(student, 2)  # after the deadline: nothing counts
    assert row_of(run, student).cells["log-calls"].outcome.done == 0
    gradebook(run)
    as_user(classroom.user("teacher"), extend_deadline, run, reload(User, student.id), utcnow() + timedelta(days=1))
    assert row_of(run, student).cells["log-calls"].outcome.done == 2
    assert {r.student.id: r for r in gradebook(run).rows}[student.id].cells["log-calls"].outcome.done == 2
    assert_row_right(run, student)


def test_a_rerun_rescores_the_student_in_their_own_run(app, classroom):
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    calls(student, 3)
    assert row_of(run, student).cells["log-calls"].outcome.done == 3
    gradebook(run)
    make_run(classroom, text=run.scenario_text, parent=run, student=reload(User, student.id))
    assert row_of(run, student).cells["log-calls"].outcome.done == 0  # the re-run starts from nothing
    calls(student, 1)
    assert row_of(run, student).cells["log-calls"].outcome.done == 1
    assert_row_right(run, student)


def test_a_late_joiner_is_scored_and_everyone_else_stays_right(app, classroom):
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    calls(student, 2)
    gradebook(run)
    row_of(run, student)
    joiner = create_user(None, "lateA", "Late A", PASSWORD, Role.STUDENT, classroom.positions["A1"],
                         email="late@example.com")
    db.session.commit()
    calls(reload(User, joiner.id), 1)
    rows = {r.student.id: r for r in gradebook(reload(type(run), run.id)).rows}
    assert rows[joiner.id].cells["log-calls"].outcome.done == 1
    assert rows[student.id].cells["log-calls"].outcome.done == 2
    assert_row_right(run, joiner)
    assert_row_right(run, student)


def test_an_edit_of_other_fields_keeps_the_kept_outcomes_and_a_stage_edit_does_not(app, classroom, scored):
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    lead = as_user(student, create_record, Lead, {"name": "L", "company": "C", "status": "new"})
    as_user(student, update_record, reload(Lead, lead.id), {"status": "qualified"})
    gradebook(run)
    row_of(run, student)
    scored.clear()
    as_user(classroom.user("teacher"), update_record, reload(Lead, lead.id), {"company": "Another Tea Co."})
    gradebook(run)
    # Nothing a log_count or a sequence reads changed; only the kinds that read any column are scored again.
    assert {o for o, _s in scored} == {"qualified-owned"}
    scored.clear()
    as_user(classroom.user("teacher"), update_record, reload(Lead, lead.id), {"status": "unqualified"})
    row = row_of(run, student)
    assert ("qualify-leads", (student.id,)) in scored and row.cells["qualify-leads"].outcome.done == 0
    assert_row_right(run, student)


def test_a_new_record_rescores_the_objectives_counting_its_verb_or_its_records(app, classroom, scored):
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    calls(student, 1)
    gradebook(run)
    row_of(run, student)
    scored.clear()
    as_user(student, create_record, Lead, {"name": "New", "company": "C", "status": "qualified"})
    row = row_of(run, student)
    # lead.create is a step of work-a-lead; qualified-owned counts the student's records; the rest is kept.
    assert {o for o, _s in scored} == {"work-a-lead", "qualified-owned"}
    assert row.cells["qualified-owned"].outcome.done == 1
    assert_row_right(run, student)
