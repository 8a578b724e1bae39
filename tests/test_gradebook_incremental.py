"""The incremental gradebook (classroom/grading/incremental.py) always equals a computation from scratch.

Random sequences of what a class does (create, call, qualify, undo a status, convert, win, delete, restore,
transfer, a teacher's edit, overrides, extensions, one student's re-run) are applied; after each step the
gradebook, a student's progress row (with evidence) and a few students' rows are compared with every
objective evaluated from scratch.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from sandbox.access import reading_whole_log
from sandbox.activities.services import log_call
from sandbox.classroom.grading import incremental
from sandbox.classroom.grading.gradebook import gradebook, make_context, student_row
from sandbox.classroom.grading.services import clear_override, extend_deadline, set_override
from sandbox.classroom.grading.state import GradeCell, GradeMark, GradeState
from sandbox.classroom.objectives.checks import evaluate
from sandbox.classroom.runs.lookup import class_students
from sandbox.errors import NotAllowed, ServiceError
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.opportunities.models import Opportunity
from sandbox.org.models import User, utcnow
from sandbox.records.services import create_record, delete_record, restore_record, transfer_record, update_record
from tests.conftest import act_as
from tests.test_objectives import SALES_BASICS, as_user, calls, convert, make_run, opportunity, reload, set_deadline, stages

EXTRA = """  - id: won-deals
    title: {zh: 赢单, en: Won deals}
    points: 10
    check: {kind: record_count, record_type: opportunity, where: {stage: closed_won}, count: 2}
  - id: qualified-owned
    title: {zh: 合格线索, en: Qualified leads owned}
    points: 10
    check: {kind: record_count, record_type: lead, where: {status: qualified}, count: 2, touched_in_run: false}
  - id: work-a-lead
    title: {zh: 从线索到升级, en: "Lead to conversion"}
    points: 10
    check: {kind: sequence, steps: [lead.create, activity.log_call, lead.convert], same_record: false, count: 2}
"""
STUDENTS = ("studentA", "peerA", "studentA2", "managerA")


def scenario() -> str:
    head, tail = SALES_BASICS.split("\ndefault_deadline:")
    return f"{head.rstrip()}\n{EXTRA}\ndefault_deadline:{tail}"


def _plain(outcome) -> tuple:
    return (outcome.objective_id, outcome.done, outcome.needed, outcome.fraction, outcome.points, outcome.reason,
            outcome.entry_ids, [tuple(r) for r in outcome.records], outcome.documents)


def from_scratch(run, students: list[User], evidence: bool) -> dict[tuple[int, str], tuple]:
    """Every objective evaluated for every student, nothing kept: the reference."""
    ctx = make_context(run, [s.id for s in students], evidence)
    with reading_whole_log():
        return {(sid, o.id): _plain(out) for o in run.scenario.objectives for sid, out in evaluate(o, ctx).items()}


def assert_same(run, classroom) -> None:
    db.session.expire_all()
    students = class_students(run.class_id)
    book = gradebook(run)
    expected = from_scratch(run, students, False)
    got = {(row.student.id, oid): _plain(cell.outcome) for row in book.rows for oid, cell in row.cells.items()}
    assert got == expected
    for row in book.rows:  # overrides are applied on top, as before
        assert row.total == sum((c.points for c in row.cells.values()), Decimal("0.00"))
    one = reload(User, classroom.user(random.choice(STUDENTS)).id)
    if one.class_id == run.class_id and one in students:
        row = student_row(run, one, evidence=True)
        reference = from_scratch(run, [one], True)
        assert {(one.id, oid): _plain(c.outcome) for oid, c in row.cells.items()} == reference


class Class:
    """The moves of a class, chosen at random: each is a real service call, committed."""

    def __init__(self, classroom, run, rng: random.Random) -> None:
        self.classroom, self.run, self.rng = classroom, run, rng
        self.teacher = classroom.user("teacher")

    def user(self) -> User:
        return reload(User, self.classroom.user(self.rng.choice(STUDENTS)).id)

    def own(self, model, student: User, deleted: bool = False) -> list:
        where = [model.owner_id == student.id, model.class_id == student.class_id]
        where.append(model.deleted_at.is_not(None) if deleted else model.deleted_at.is_(None))
        return list(db.session.scalars(select(model).where(*where).order_by(model.id)
                                       .execution_options(skip_visibility=True, include_deleted=True)))

    def pick(self, model, student: User, deleted: bool = False):
        found = self.own(model, student, deleted)
        return self.rng.choice(found) if found else None

    def create(self) -> None:
        as_user(self.user(), create_record, Lead, {"name": "Lead", "company": "Tea", "status": "new"})

    def call(self) -> None:
        student = self.user()
        lead = self.pick(Lead, student)
        calls(student, 1, lead) if lead is not None else calls(student, 1)

    def qualify(self) -> None:
        student = self.user()
        lead = self.pick(Lead, student)
        if lead is not None and lead.status not in ("converted",):
            as_user(student, update_record, lead, {"status": self.rng.choice(["qualified", "unqualified", "contacted"])})

    def undo(self) -> None:
        student = self.user()
        lead = self.pick(Lead, student)
        if lead is not None and lead.status in ("qualified", "unqualified", "contacted"):
            as_user(student, update_record, lead, {"status": "new"})

    def teacher_edit(self) -> None:
        lead = self.pick(Lead, self.user())
        if lead is not None and lead.status != "converted":
            as_user(self.teacher, update_record, lead, {"status": self.rng.choice(["new", "qualified"])})

    def convert(self) -> None:
        student = self.user()
        leads = [lead for lead in self.own(Lead, student) if lead.status != "converted"]
        if leads:
            convert(student, self.rng.choice(leads))

    def win(self) -> None:
        student = self.user()
        opp = self.pick(Opportunity, student)
        if opp is None or opp.stage in ("closed_won", "closed_lost"):
            opp = opportunity(student, name=f"Deal {self.rng.randint(1, 10**6)}")
        stages(student, opp, self.rng.choice(["qualification", "closed_won"]))

    def delete(self) -> None:
        student = self.user()
        model = self.rng.choice([Lead, Opportunity])
        record = self.pick(model, student)
        if record is not None:
            as_user(self.rng.choice([student, self.teacher]), delete_record, record)

    def restore(self) -> None:
        student = self.user()
        model = self.rng.choice([Lead, Opportunity])
        record = self.pick(model, student, deleted=True)
        if record is not None:
            as_user(self.teacher, restore_record, record)

    def transfer(self) -> None:
        student, other = self.user(), self.user()
        record = self.pick(self.rng.choice([Lead, Opportunity]), student)
        if record is not None and other.id != student.id:
            as_user(self.teacher, transfer_record, record, other.id)

    def override(self) -> None:
        student = self.user()
        objective = self.rng.choice(["log-calls", "won-deals"])
        if self.rng.random() < 0.6:
            as_user(self.teacher, set_override, self.run, student, objective, self.rng.randint(0, 10), "why")
        else:
            as_user(self.teacher, clear_override, self.run, student, objective)

    def extension(self) -> None:
        as_user(self.teacher, extend_deadline, self.run, self.user(),
                utcnow() + timedelta(days=self.rng.randint(1, 30)), "ill")

    def rerun(self) -> None:
        make_run(self.classroom, text=self.run.scenario_text, parent=self.run, student=self.user())

    def do(self, move: str) -> None:
        """Make the move; a refusal (a converted lead is read-only…) changes nothing and is a move too."""
        try:
            getattr(self, move)()
        except (ServiceError, NotAllowed):
            db.session.rollback()
            act_as(None)

    MOVES = ("create", "call", "call", "qualify", "qualify", "undo", "teacher_edit", "convert", "win", "win", "delete",
             "restore", "transfer", "override", "extension", "rerun")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_class_work_keeps_the_incremental_gradebook_equal_to_a_full_computation(app, classroom, seed):
    rng = random.Random(seed)
    random.seed(seed)
    run = make_run(classroom, text=scenario())
    world = Class(classroom, run, rng)
    assert_same(run, classroom)
    for _step in range(30):
        world.do(rng.choice(Class.MOVES))
        assert_same(reload(type(run), run.id), classroom)
    assert db.session.scalar(select(func.count()).select_from(GradeCell)) > 0  # outcomes were kept


def test_each_move_invalidates_what_it_must(app, classroom):
    """Every move once, in a fixed order, each followed by the comparison (a readable failure names the move)."""
    run = make_run(classroom, text=scenario())
    world = Class(classroom, run, random.Random(7))
    for move in ("create", "call", "qualify", "teacher_edit", "undo", "convert", "win", "win", "delete", "restore",
                 "transfer", "override", "extension", "rerun"):
        for _ in range(3):
            world.do(move)
            assert_same(reload(type(run), run.id), classroom), move


def test_a_new_call_rescores_only_its_student(app, classroom, monkeypatch):
    run = make_run(classroom, text=scenario())
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    calls(student, 2)
    calls(peer, 1)
    gradebook(run)
    scored: list[list[int]] = []
    real = incremental.evaluate

    def spy(objective, ctx):
        scored.append(sorted(ctx.student_ids))
        return real(objective, ctx)

    monkeypatch.setattr(incremental, "evaluate", spy)
    book = gradebook(run)
    assert scored == []  # nothing new: every outcome is kept
    calls(student, 1)
    book = gradebook(run)
    assert {tuple(s) for s in scored} == {(student.id,)}
    by_name = {row.student.username: row for row in book.rows}
    assert by_name["studentA"].cells["log-calls"].outcome.done == 3
    assert by_name["peerA"].cells["log-calls"].outcome.done == 1


def test_a_teachers_delete_rescores_the_student_whose_work_it_cancels(app, classroom, monkeypatch):
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    lead = as_user(student, create_record, Lead, {"name": "L", "company": "C", "status": "new"})
    as_user(student, update_record, reload(Lead, lead.id), {"status": "qualified"})
    assert {r.student.username: r for r in gradebook(run).rows}["studentA"].cells["qualify-leads"].outcome.done == 1
    as_user(classroom.user("teacher"), delete_record, reload(Lead, lead.id))
    assert {r.student.username: r for r in gradebook(run).rows}["studentA"].cells["qualify-leads"].outcome.done == 0
    as_user(classroom.user("teacher"), restore_record, reload(Lead, lead.id))
    assert {r.student.username: r for r in gradebook(run).rows}["studentA"].cells["qualify-leads"].outcome.done == 1


def test_an_override_applies_without_rescoring_and_a_deadline_change_rescores(app, classroom, monkeypatch):
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    calls(student, 5)
    gradebook(run)
    scored: list[list[int]] = []
    real = incremental.evaluate
    monkeypatch.setattr(incremental, "evaluate", lambda o, ctx: scored.append(ctx.student_ids) or real(o, ctx))
    as_user(classroom.user("teacher"), set_override, run, student, "log-calls", 3, "late")
    row = {r.student.username: r for r in gradebook(run).rows}["studentA"]
    assert row.cells["log-calls"].points == Decimal("3.00") and row.cells["log-calls"].outcome.done == 5
    assert scored == []
    # The run's deadline moved before the calls: everyone is scored again and the calls no longer count.
    set_deadline(run, utcnow() - timedelta(days=1))
    run = reload(type(run), run.id)
    as_user(classroom.user("teacher"), clear_override, run, student, "log-calls")
    row = {r.student.username: r for r in gradebook(run).rows}["studentA"]
    assert scored and row.cells["log-calls"].outcome.done == 0 and row.cells["log-calls"].points == 0


def test_kept_outcomes_are_per_language_and_per_view(app, classroom):
    run = make_run(classroom, text=scenario())
    calls(classroom.user("studentA"), 1)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        from flask_babel import refresh

        refresh()
        gradebook(run)
        english = incremental.variant(False)
    student_row(run, reload(User, classroom.user("studentA").id), evidence=True)
    views = set(db.session.scalars(select(GradeCell.variant).distinct()))
    assert english in views and incremental.variant(True) in views and len(views) == 2


def test_kept_state_can_be_forgotten_and_is_rebuilt(app, classroom):
    run = make_run(classroom, text=scenario())
    calls(classroom.user("studentA"), 2)
    first = {(r.student.id, k): c.points for r in gradebook(run).rows for k, c in r.cells.items()}
    incremental.forget()
    db.session.commit()
    assert not db.session.scalars(select(GradeState)).all() and not db.session.scalars(select(GradeMark)).all()
    again = {(r.student.id, k): c.points for r in gradebook(run).rows for k, c in r.cells.items()}
    assert again == first


def test_which_entries_invalidate_whom():
    assert incremental._kind("auth.login") == "actor" and incremental._kind("lead.export") == "actor"
    assert incremental._kind("grade.override") == "actor"
    assert incremental._kind("lead.update") == "record" and incremental._kind("opportunity.remove_line") == "record"
    for verb in ("scenario.reset", "scenario.undo", "scenario.join", "grade.extend_deadline", "lead.import",
                 "case.bulk_transition", "campaign.import_members", "code_value.update", "user.update",
                 "forecast.submit", "test.run"):
        assert incremental._kind(verb) == "all", verb
    assert incremental._named({"account_id": 3, "related_type": "lead", "related_id": 9, "child_id": 4},
                              {"fields": {"contact_id": [1, 2], "owner_id": [5, 6]}}) == \
        {("account", 3), ("lead", 9), ("contact", 1), ("contact", 2)}


def test_a_gradebook_inside_a_transaction_that_has_written_keeps_its_outcomes_with_it(app, classroom):
    """A POST export or the CLI computes the gradebook after writing: the outcomes go with that transaction
    (a second connection would wait for its lock), and they are right whether it commits or rolls back."""
    run = make_run(classroom, text=scenario())
    student = classroom.user("studentA")
    calls(student, 2)
    gradebook(run)
    act_as(student)
    lead = create_record(Lead, {"name": "Uncommitted", "company": "C", "status": "new"})
    log_call(lead)
    db.session.flush()
    assert incremental._session_wrote()
    row = {r.student.username: r for r in gradebook(run).rows}["studentA"]
    assert row.cells["log-calls"].outcome.done == 3
    db.session.rollback()
    act_as(None)
    assert_same(reload(type(run), run.id), classroom)
    row = {r.student.username: r for r in gradebook(reload(type(run), run.id)).rows}["studentA"]
    assert row.cells["log-calls"].outcome.done == 2
