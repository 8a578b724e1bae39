"""Objective check kinds (log_count, record_count, sequence, manual): 0, partial and full credit, with evidence
(issue 4; SPEC §8.5). Log entries come from the real services acting as the student."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox.accounts.models import Account
from sandbox.activities.services import log_call
from sandbox.classroom.grading.gradebook import gradebook, student_row
from sandbox.classroom.models import Run
from sandbox.classroom.objectives.checks import CHECKS
from sandbox.classroom.runs.lookup import forget_run_ids
from sandbox.competitors.models import Competitor
from sandbox.extensions import db
from sandbox.leads.conversion import ConversionRequest, convert_lead
from sandbox.leads.models import Lead
from sandbox.oplog import current_op, operation
from sandbox.opportunities.lines import add_line
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.parties import add_competitor
from sandbox.opportunities.services import change_stage, create_opportunity
from sandbox.org.models import User, utcnow
from sandbox.products.models import Product
from sandbox.products.services import create_product
from sandbox.records.services import create_record, delete_record, update_record
from tests.conftest import act_as

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SALES_BASICS = (SCENARIOS / "sales-basics.yaml").read_text(encoding="utf-8")


# -- helpers shared with tests/test_grading.py --------------------------------------------------------------------

@operation("test.run")
def _save_run(run: Run | None = None, **fields: Any) -> Run:
    """Tests make runs directly (the loader is tested elsewhere); runs are audited, so inside an operation."""
    if run is None:
        run = Run(**fields)
        db.session.add(run)
    else:
        for key, value in fields.items():
            setattr(run, key, value)
    current_op().target(run)
    return run


def make_run(classroom: Any, klass: str = "A", text: str = SALES_BASICS, deadline: Any = None,
             parent: Run | None = None, student: User | None = None, name: str = "sales-basics") -> Run:
    """A class run (or a student's re-run inside `parent`) of a scenario, deadline in 14 days by default."""
    act_as(None)
    run = _save_run(class_id=classroom.classes[klass].id, scenario_name=name, scenario_text=text, seed=1,
                    deadline=deadline or utcnow() + timedelta(days=14), parent_id=parent.id if parent else None,
                    student_id=student.id if student else None)
    db.session.commit()
    forget_run_ids()  # new entries go to the new run
    return run


def set_deadline(run: Run, deadline: Any) -> None:
    act_as(None)
    _save_run(run, deadline=deadline)
    db.session.commit()


def with_objectives(objectives_yaml: str) -> str:
    """Sales basics with other objectives."""
    head = SALES_BASICS.split("\nobjectives:")[0]
    return f"{head}\nobjectives:\n{objectives_yaml}\ndefault_deadline: P14D\n"


def as_user(user: User, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a service acting as `user`, commit, and go back to the system."""
    act_as(user)
    result = fn(*args, **kwargs)
    db.session.commit()
    act_as(None)
    return result


def reload(model: Any, ident: int) -> Any:
    from sqlalchemy import select

    db.session.expire_all()
    return db.session.scalars(select(model).where(model.id == ident).execution_options(skip_visibility=True)).one()


def calls(user: User, n: int, record: Any = None) -> Any:
    """Log n calls as `user`: each on a new lead of theirs, or all on `record`; returns the last record called."""
    for _ in range(n):
        called = record or as_user(user, create_record, Lead, {"name": "Callee", "company": "Tea Co.", "status": "new"})
        as_user(user, log_call, reload(type(called), called.id))
    return called


def convert(user: User, lead: Lead, **req: Any) -> Any:
    return as_user(user, convert_lead, reload(Lead, lead.id), ConversionRequest(account_mode="new", **req))


def outcome(run: Run, student: User, objective_id: str, evidence: bool = True) -> Any:
    return student_row(run, reload(User, student.id), evidence=evidence).cells[objective_id].outcome


@dataclass
class Shop:
    """A class-A product at 60,000 and a competitor, to close a big deal."""

    product: Product
    competitor: Competitor


@pytest.fixture
def shop(classroom) -> Shop:
    return make_shop(classroom)


def make_shop(classroom: Any) -> Shop:
    """A class-A product at 60,000 and studentA's competitor."""
    product = as_user(classroom.user("teacher"), create_product, Product, {
        "class_id": classroom.classes["A"].id, "code": "TEA-1", "name": "Tea hall fit-out",
        "list_price": Decimal("60000"), "active": True})
    competitor = as_user(classroom.user("studentA"), create_record, Competitor, {"name": "Rival Tea"})
    return Shop(product, competitor)


def opportunity(user: User, name: str = "Deal X", stage: str = "prospecting", amount: str = "1000") -> Opportunity:
    account = as_user(user, create_record, Account, {"name": f"{name} account"})
    return as_user(user, create_opportunity, Opportunity, {
        "name": name, "account_id": account.id, "stage": stage, "amount": Decimal(amount),
        "close_date": date(2030, 6, 30)})


def stages(user: User, opp: Opportunity, *names: str) -> None:
    for name in names:
        as_user(user, change_stage, reload(Opportunity, opp.id), name)


# -- registry ------------------------------------------------------------------------------------------------------

def test_every_kind_of_the_schema_is_registered():
    from seed.schema import CHECK_KINDS

    assert set(CHECK_KINDS) <= set(CHECKS)
    assert all(CHECKS[name].name == name for name in CHECKS)


# -- log_count -----------------------------------------------------------------------------------------------------

def test_log_count_zero_partial_full(app, classroom):
    run = make_run(classroom)
    student = classroom.user("studentA")
    none = outcome(run, student, "log-calls")
    assert (none.done, none.needed, none.fraction, none.points) == (0, 5, 0.0, Decimal("0.00"))
    assert none.reason == "0 of 5 calls to different records; 5 more needed" and none.entry_ids == []
    first, second = calls(student, 1), calls(student, 1)
    part = outcome(run, student, "log-calls")
    assert (part.done, part.fraction, part.points) == (2, 0.4, Decimal("4.00"))
    assert part.reason == "2 of 5 calls to different records; 3 more needed"
    assert len(part.entry_ids) == 2 and part.records and part.records[0][0] == "activity"
    calls(student, 3, first)  # the same lead again: still two leads reached
    again = outcome(run, student, "log-calls")
    assert again.done == 2 and "3 of your actions did not count" in again.reason
    assert second and [calls(student, 1) for _ in range(5)]
    full = outcome(run, student, "log-calls")
    # Counting stops where the points do: 7 leads called meet "5 calls" as 5 do.
    assert (full.done, full.fraction, full.points) == (5, 1.0, Decimal("10.00"))
    assert full.reason == "5 of 5 calls to different records" and len(full.entry_ids) == 5  # the entries that met it


def test_log_count_field_and_new_value(app, classroom):
    run = make_run(classroom, text=with_objectives("""
  - {id: qualify, title: {zh: 确认, en: Qualify}, points: 10,
     check: {kind: log_count, verb: lead.update, field: status, to: qualified, count: 2}}
  - {id: any-status, title: {zh: 状态, en: Status}, points: 10,
     check: {kind: log_count, verb: lead.update, object_type: lead, field: status, count: 4}}
  - {id: amount, title: {zh: 金额, en: Amount}, points: 10,
     check: {kind: log_count, verb: opportunity.update, field: amount, to: 50000}}
  - {id: employees, title: {zh: 人数, en: Employees}, points: 10,
     check: {kind: log_count, verb: lead.update, field: employees, to: 20}}
  - {id: won, title: {zh: 赢单, en: Won}, points: 10,
     check: {kind: log_count, verb: opportunity.stage_change, field: stage, to: closed_won}}
"""))
    student = classroom.user("studentA")
    leads = [as_user(student, create_record, Lead, {"name": f"L{i}", "status": "new"}) for i in range(3)]
    as_user(student, update_record, reload(Lead, leads[0].id), {"status": "contacted"})
    as_user(student, update_record, reload(Lead, leads[1].id), {"status": "qualified"})
    as_user(student, update_record, reload(Lead, leads[2].id), {"title": "Buyer"})  # no status change
    row = student_row(run, student)
    assert row.cells["qualify"].outcome.done == 1 and row.cells["qualify"].points == Decimal("5.00")
    assert row.cells["any-status"].outcome.done == 2
    assert "1 more needed" in row.cells["qualify"].outcome.reason
    as_user(student, update_record, reload(Lead, leads[2].id), {"status": "qualified", "employees": 20})
    opp = opportunity(student, amount="1000")
    as_user(student, update_record, reload(Opportunity, opp.id), {"amount": Decimal("50000")})
    stages(student, opp, "closed_won")
    row = student_row(run, student)
    assert {k: c.outcome.done for k, c in row.cells.items()} == {
        "qualify": 2, "any-status": 3, "amount": 1, "employees": 1, "won": 1}
    assert row.total == Decimal("47.50")


# -- sequence ------------------------------------------------------------------------------------------------------

def test_sequence_call_before_convert(app, classroom):
    run = make_run(classroom)
    student = classroom.user("studentA")
    assert outcome(run, student, "call-before-convert").reason == (
        "0 of 2 steps done (call logged → lead converted).")
    called = calls(student, 1)
    other = as_user(student, create_record, Lead, {"name": "Converted cold", "status": "new"})
    convert(student, other)  # converted without a call first: no credit on that lead
    part = outcome(run, student, "call-before-convert")
    assert (part.done, part.needed, part.fraction, part.points) == (1, 2, 0.5, Decimal("5.00"))
    assert part.reason == "Best: 1 of 2 steps on “Callee · Tea Co.”." and part.records == [
        ("lead", called.id, "Callee · Tea Co.")]
    convert(student, called)
    full = outcome(run, student, "call-before-convert")
    assert (full.fraction, full.points) == (1.0, Decimal("10.00"))
    assert full.reason == "All 2 steps done on “Callee · Tea Co.”." and len(full.entry_ids) == 2


def test_sequence_of_stage_changes_on_one_opportunity(app, classroom):
    run = make_run(classroom)
    student = classroom.user("studentA")
    deal, other = opportunity(student, "Deal X"), opportunity(student, "Deal Y")
    stages(student, deal, "qualification", "needs_analysis")
    stages(student, other, "qualification")
    part = outcome(run, student, "move-stages")
    assert (part.done, part.needed, part.points) == (2, 4, Decimal("7.50"))
    assert part.reason == "Best: 2 of 4 steps on “Deal X”." and part.records == [("opportunity", deal.id, "Deal X")]
    assert len(part.entry_ids) == 2
    stages(student, other, "needs_analysis", "value_proposition")  # 3 on Y: still not 4 on one record
    assert outcome(run, student, "move-stages").reason == "Best: 3 of 4 steps on “Deal Y”."
    stages(student, deal, "value_proposition", "proposal")
    full = outcome(run, student, "move-stages")
    assert (full.fraction, full.points) == (1.0, Decimal("15.00")) and len(full.entry_ids) == 4


def test_sequence_counted_several_times_and_across_the_stream(app, classroom):
    run = make_run(classroom, text=with_objectives("""
  - {id: two-calls-converted, title: {zh: 两条, en: Two}, points: 10,
     check: {kind: sequence, steps: [activity.log_call, lead.convert], count: 2}}
  - {id: call-then-move, title: {zh: 推进, en: Move}, points: 10,
     check: {kind: sequence, steps: [activity.log_call, opportunity.stage_change]}}
  - {id: stream, title: {zh: 流, en: Stream}, points: 10,
     check: {kind: sequence, steps: [lead.create, activity.log_call], same_record: false, count: 2}}
"""))
    student = classroom.user("studentA")
    first = calls(student, 1)
    convert(student, first)
    calls(student, 1)  # a second lead with a call, not converted yet
    row = student_row(run, student)
    two = row.cells["two-calls-converted"].outcome
    assert (two.done, two.needed, two.fraction, two.points) == (1, 2, 0.75, Decimal("7.50"))
    assert "All steps done on 1 of 2 records." in two.reason and "1 of 2 steps" in two.reason
    assert row.cells["stream"].outcome.fraction == 1.0  # create, call, create, call
    assert row.cells["call-then-move"].outcome.fraction == 0.5  # calls on leads: the first step only
    deal = opportunity(student)
    stages(student, deal, "qualification")  # a move before the call does not start the sequence
    as_user(student, log_call, reload(Opportunity, deal.id))
    assert student_row(run, student).cells["call-then-move"].outcome.fraction == 0.5
    stages(student, deal, "needs_analysis")  # the call counts for the opportunity it is about
    assert student_row(run, student).cells["call-then-move"].outcome.fraction == 1.0


def test_stream_sequence_partial_credit(app, classroom):
    run = make_run(classroom, text=with_objectives("""
  - {id: stream, title: {zh: 流, en: Stream}, points: 10,
     check: {kind: sequence, steps: [lead.create, activity.log_call, lead.convert], same_record: false, count: 2}}
"""))
    student = classroom.user("studentA")
    lead = calls(student, 1)
    convert(student, lead)
    as_user(student, create_record, Lead, {"name": "Next", "status": "new"})
    got = outcome(run, student, "stream")
    assert (got.done, got.needed) == (1, 2) and got.fraction == pytest.approx((1 + 1 / 3) / 2)
    assert got.points == Decimal("6.67") and "next: call logged" in got.reason
    assert len(got.entry_ids) == 4


# -- record_count --------------------------------------------------------------------------------------------------

def test_record_count_first_won_deal(app, classroom, shop):
    run = make_run(classroom)
    student = classroom.user("studentA")
    zero = outcome(run, student, "first-won-deal")
    assert zero.points == 0 and zero.reason.startswith("0 of 1 opportunities meeting all the conditions")
    deal = opportunity(student, "Big tea deal", amount="1000")
    stages(student, deal, "closed_won")
    small = outcome(run, student, "first-won-deal")
    assert small.done == 0 and "Missing: Amount ≥ CN¥50,000 (1 of your opportunities" in small.reason
    assert "Your closest opportunity's Amount is CN¥1,000; this objective needs ≥ CN¥50,000." in small.reason
    big = opportunity(student, "Bigger tea deal")
    as_user(student, add_line, reload(Opportunity, big.id), reload(Product, shop.product.id), 1)
    stages(student, big, "closed_won")
    no_rival = outcome(run, student, "first-won-deal")
    assert no_rival.done == 0 and "Missing: with competitors" in no_rival.reason
    bigger = opportunity(student, "Biggest tea deal")
    as_user(student, add_line, reload(Opportunity, bigger.id), reload(Product, shop.product.id), 2)
    as_user(student, add_competitor, reload(Opportunity, bigger.id), reload(Competitor, shop.competitor.id))
    stages(student, bigger, "closed_won")
    full = outcome(run, student, "first-won-deal")
    assert (full.done, full.points) == (1, Decimal("20.00"))
    assert full.records == [("opportunity", bigger.id, "Biggest tea deal")] and full.entry_ids
    as_user(student, delete_record, reload(Opportunity, bigger.id))  # the recycle bin does not count
    assert outcome(run, student, "first-won-deal").done == 0


def test_feedback_speaks_the_students_language_and_currency(app, classroom):
    """The reason names the field by its label, money in the scenario's currency, in the reader's language."""
    english = (SCENARIOS / "sales-basics-en.yaml").read_text(encoding="utf-8")
    run = make_run(classroom, text=english, name="sales-basics-en")
    student = classroom.user("studentA")
    stages(student, opportunity(student, "Small deal", amount="3832"), "closed_won")
    got = outcome(run, student, "first-won-deal")
    assert "Your closest opportunity's Amount is $3,832; this objective needs ≥ $5,000." in got.reason
    from flask_babel import force_locale

    with force_locale("zh_Hans_CN"):
        got = outcome(run, student, "first-won-deal")
    assert "你最接近的销售机会的金额是 US$3,832；这个目标需要 ≥ US$5,000。" in got.reason


def test_record_count_where_operators_partial_and_touched(app, classroom):
    student = classroom.user("studentA")
    old = as_user(student, create_record, Lead, {"name": "Before the run", "status": "qualified", "employees": 50})
    text = with_objectives("""
  - {id: warm, title: {zh: 线索, en: Leads}, points: 10,
     check: {kind: record_count, record_type: lead, count: 4,
             where: {status: [qualified, contacted], employees: {gt: 10, lte: 100}, rating: {ne: cold}}}}
  - {id: any-warm, title: {zh: 线索, en: Leads}, points: 10,
     check: {kind: record_count, record_type: lead, count: 4, touched_in_run: false,
             where: {status: {in: [qualified, contacted]}, employees: {gte: 11}}}}
""")
    run = make_run(classroom, text=text)
    # Seeded before the run and untouched: only the check without touched_in_run counts it.
    row = student_row(run, student)
    assert (row.cells["warm"].outcome.done, row.cells["any-warm"].outcome.done) == (0, 1)
    assert "Missing: worked on in this run" in row.cells["warm"].outcome.reason
    for i, (status, employees, rating) in enumerate([("contacted", 20, "hot"), ("qualified", 100, None),
                                                      ("qualified", 101, None), ("new", 50, None),
                                                      ("contacted", 30, "cold")]):
        as_user(student, create_record, Lead, {"name": f"L{i}", "status": status, "employees": employees,
                                               "rating": rating})
    row = student_row(run, student)
    warm = row.cells["warm"].outcome
    assert (warm.done, warm.fraction, warm.points) == (2, 0.5, Decimal("5.00"))
    assert {label for _t, _i, label in warm.records} == {"L0", "L1"}
    as_user(student, update_record, reload(Lead, old.id), {"title": "Owner"})  # touched, but no condition set
    assert outcome(run, student, "warm").done == 2
    as_user(student, update_record, reload(Lead, old.id), {"employees": 60})  # the student met a condition now
    assert outcome(run, student, "warm").done == 3


# -- manual --------------------------------------------------------------------------------------------------------

def test_manual_awaits_the_instructor(app, classroom):
    run = make_run(classroom)
    got = outcome(run, classroom.user("studentA"), "visit-notes")
    assert (got.done, got.needed, got.points) == (0, 1, Decimal("0.00"))
    assert got.reason == "Awaiting the instructor's score."


def test_batch_matches_one_by_one(app, classroom, shop):
    """The whole-class computation gives each student what their own row gives."""
    run = make_run(classroom)
    a, peer = classroom.user("studentA"), classroom.user("peerA")
    lead = calls(a, 3)
    convert(a, lead)
    calls(peer, 6)
    stages(peer, opportunity(peer), "qualification", "needs_analysis", "value_proposition")
    book = gradebook(run)
    for row in book.rows:
        alone = student_row(run, row.student, evidence=False)
        assert {k: c.points for k, c in row.cells.items()} == {k: c.points for k, c in alone.cells.items()}
    by_name = {row.student.username: row for row in book.rows}
    # The converted lead was typed by the student, and Sales basics counts generated leads only (origin: generated).
    assert by_name["studentA"].total == Decimal("6.00") + Decimal("0.00") + Decimal("10.00")
    assert by_name["peerA"].total == Decimal("10.00") + Decimal("5.00") + Decimal("11.25")  # a call: step 1 of 2


def test_reading_the_run_in_slices_changes_nothing(app, classroom, monkeypatch):
    """Sequences read a long run in id slices and drop students who are done; the outcome is the same."""
    from sandbox.classroom.grading import incremental
    from sandbox.classroom.objectives import sequence as objectives_sequence

    run = make_run(classroom, text=with_objectives("""
  - {id: call-convert, title: {zh: 升级, en: Convert}, points: 10,
     check: {kind: sequence, steps: [activity.log_call, lead.convert]}}
  - {id: two, title: {zh: 两条, en: Two}, points: 10,
     check: {kind: sequence, steps: [activity.log_call, lead.convert], count: 2}}
  - {id: stages, title: {zh: 阶段, en: Stages}, points: 10,
     check: {kind: sequence, steps: [opportunity.stage_change, opportunity.stage_change]}}
  - {id: stream, title: {zh: 流, en: Stream}, points: 10,
     check: {kind: sequence, steps: [lead.create, activity.log_call], same_record: false}}
"""))
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    convert(student, calls(student, 1))  # done early, then more work
    deal = opportunity(student)
    stages(student, deal, "qualification")
    calls(peer, 2)
    stages(student, deal, "needs_analysis", "value_proposition")
    convert(student, calls(student, 2))
    calls(peer, 1)

    def shown(evidence: bool) -> dict:
        book = gradebook(run, evidence=evidence)
        return {(row.student.username, key): (cell.points, cell.outcome.reason, cell.outcome.entry_ids,
                                              cell.outcome.records)
                for row in book.rows for key, cell in row.cells.items()}

    whole = shown(False), shown(True)
    monkeypatch.setattr(objectives_sequence, "SLICED_FROM", 0)
    monkeypatch.setattr(objectives_sequence, "FEW_STUDENTS", 0)
    assert len(objectives_sequence._slices(make_context_for(run))) > 2
    incremental.forget()  # score everyone again, in slices, instead of reading the kept outcomes
    assert (shown(False), shown(True)) == whole
    assert whole[0][("studentA", "two")][0] == Decimal("10.00") and whole[0][("peerA", "call-convert")][0] == Decimal("5.00")


def make_context_for(run: Run) -> Any:
    from sandbox.classroom.grading.gradebook import make_context
    from sandbox.classroom.runs.lookup import class_students

    return make_context(run, [s.id for s in class_students(run.class_id)])
