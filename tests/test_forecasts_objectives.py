"""Forecast objectives and scenario quotas: exact outcomes, and a bored student's ways to fake an accurate forecast."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.clock import today
from sandbox.extensions import db
from sandbox.fiscal import current_quarter
from sandbox.forecasts.models import Quota
from sandbox.forecasts.services import set_quota, submit_forecast
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.services import change_stage, create_opportunity, reopen
from sandbox.org.models import utcnow
from sandbox.records.services import delete_record, transfer_record, update_record
from seed.loading import ScenarioError, parse_scenario
from tests.test_objectives import SCENARIOS, as_user, make_run, outcome, reload, set_deadline, with_objectives

OBJECTIVES = """
  - id: submitted
    title: {zh: 提交预测, en: Submit a forecast}
    points: 5
    check: {kind: forecast_submitted}
  - id: submitted-next
    title: {zh: 提交下季度预测, en: Submit next quarter's forecast}
    points: 5
    check: {kind: forecast_submitted, quarter: next}
  - id: accurate
    title: {zh: 预测准确, en: Accurate forecast}
    points: 10
    check: {kind: forecast_accuracy, within: 10}
  - id: accurate-early
    title: {zh: 提前预测, en: Early forecast}
    points: 10
    check: {kind: forecast_accuracy, within: 10, before_deadline: P2D, measure: best_case}
"""
TEXT = with_objectives(OBJECTIVES)


def _deal(user: Any, name: str, stage: str, amount: int, **fields: Any) -> Opportunity:
    return as_user(user, create_opportunity, Opportunity, {"name": name, "stage": stage, "amount": Decimal(amount),
                                                           "close_date": today(), **fields})


def _submit(user: Any) -> None:
    as_user(user, submit_forecast, current_quarter())


@pytest.fixture
def run(app, classroom):
    return make_run(classroom, text=TEXT)


def test_a_submission_for_the_current_quarter_counts(app, classroom, run):
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    assert outcome(run, student, "submitted").points == 0
    _submit(student)
    got = outcome(run, student, "submitted")
    assert (got.points, got.met) == (Decimal("5.00"), True)
    assert outcome(run, student, "submitted-next").points == 0  # another quarter
    assert outcome(run, peer, "submitted").points == 0          # a classmate's submission is theirs only
    set_deadline(run, utcnow())
    _submit(peer)  # after the deadline
    assert outcome(run, peer, "submitted").points == 0


def test_accuracy_is_exact(app, classroom, run):
    student = classroom.user("studentA")
    _deal(student, "Won", "closed_won", 1000)
    _deal(student, "Negotiating", "negotiation", 500)  # commit: 1500
    _submit(student)
    set_deadline(run, utcnow())
    got = outcome(run, student, "accurate")
    assert (got.met, got.points) == (False, Decimal("0.00"))
    assert "50.0 % off (10 % allowed)" in got.reason


def test_a_close_forecast_is_met_and_later_changes_take_nothing_away(app, classroom, run):
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    won = _deal(student, "Won", "closed_won", 1000)
    _deal(student, "Small", "negotiation", 50)  # commit 1050: 5 % off
    _submit(student)
    set_deadline(run, utcnow())
    assert outcome(run, student, "accurate").points == Decimal("10.00")
    # After the deadline: reopen the win, re-price it, move its close date, give it away, delete it.
    as_user(student, reopen, reload(Opportunity, won.id))
    assert outcome(run, student, "accurate").points == Decimal("10.00")
    as_user(student, update_record, reload(Opportunity, won.id),
            {"amount": Decimal(1), "close_date": today() + timedelta(days=400)})
    as_user(student, transfer_record, reload(Opportunity, won.id), peer.id)
    as_user(peer, delete_record, reload(Opportunity, won.id))
    assert outcome(run, student, "accurate").points == Decimal("10.00")
    assert "Nothing closed won" in outcome(run, peer, "accurate").reason or outcome(run, peer, "accurate").points == 0


def test_faking_accuracy_after_the_deadline_earns_nothing(app, classroom, run):
    student = classroom.user("studentA")
    won = _deal(student, "Won", "closed_won", 1000)
    open_deal = _deal(student, "Negotiating", "negotiation", 500)
    _submit(student)  # commit 1500 against 1000 won: 50 % off
    set_deadline(run, utcnow())
    # Win the open deal late, re-price the won one, add a new win, submit a forecast that matches: all too late.
    as_user(student, change_stage, reload(Opportunity, open_deal.id), "closed_won")
    as_user(student, update_record, reload(Opportunity, won.id), {"amount": Decimal(1400)})
    _deal(student, "Late win", "closed_won", 100)
    as_user(student, update_record, reload(Opportunity, open_deal.id), {"forecast_category": "omitted"})
    _submit(student)
    got = outcome(run, student, "accurate")
    assert got.points == 0 and "against ¥1,000.00" in got.reason.replace("CN¥", "¥")


def test_nothing_against_nothing_is_not_accurate(app, classroom, run):
    student = classroom.user("studentA")
    _deal(student, "Lost hope", "prospecting", 100, forecast_category="omitted")
    _submit(student)
    set_deadline(run, utcnow())
    got = outcome(run, student, "accurate")
    assert got.points == 0 and "Nothing closed won" in got.reason


def test_a_forecast_made_at_the_last_minute_does_not_count_when_asked_early(app, classroom, run):
    student = classroom.user("studentA")
    _deal(student, "Won", "closed_won", 1000)
    _submit(student)
    set_deadline(run, utcnow() + timedelta(days=1))  # submitted only one day before: too late for P2D
    got = outcome(run, student, "accurate-early")
    assert got.points == 0 and "at least 2 days before" in got.reason
    set_deadline(run, utcnow() + timedelta(days=3))
    assert outcome(run, student, "accurate-early").points == Decimal("10.00")


def test_the_latest_timely_submission_counts(app, classroom, run):
    student = classroom.user("studentA")
    _deal(student, "Won", "closed_won", 1000)
    pending = _deal(student, "Maybe", "negotiation", 800)
    _submit(student)  # 1800: far off
    as_user(student, update_record, reload(Opportunity, pending.id), {"forecast_category": "pipeline"})
    _submit(student)  # 1000: exact
    set_deadline(run, utcnow())
    assert outcome(run, student, "accurate").points == Decimal("10.00")


# ---- scenario quotas ------------------------------------------------------------------------------------------

def _problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bad.yaml")
    return caught.value.lines()


@pytest.mark.parametrize(("quotas", "expected"), [
    ("quotas: {amount: -5}", "bad.yaml: quotas.amount: expected an amount"),
    ("quotas: {amount: lots}", "bad.yaml: quotas.amount: expected an amount"),
    ("quotas: {amount: 100, quarters: [soon]}", "bad.yaml: quotas.quarters[0]: expected current, next or a fiscal quarter"),
    ("quotas: {amount: 100, quarters: [2026-Q5]}", "bad.yaml: quotas.quarters[0]: expected current, next"),
    ("quotas: {amount: 100, quarters: []}", "bad.yaml: quotas.quarters: expected at least 1 item(s)"),
    ("quotas: {amont: 100}", "bad.yaml: quotas.amont: unknown field (did you mean amount?)"),
])
def test_bad_quotas_in_a_scenario(quotas: str, expected: str) -> None:
    text = with_objectives(OBJECTIVES).replace("default_deadline: P14D", f"{quotas}\ndefault_deadline: P14D")
    assert any(line.startswith(expected) for line in _problems(text)), _problems(text)


@pytest.mark.parametrize(("check", "expected"), [
    ("{kind: forecast_accuracy, within: 0}", "check.within: expected a percentage"),
    ("{kind: forecast_accuracy, within: 150}", "check.within: expected a percentage"),
    ("{kind: forecast_accuracy}", "check.within: required field is missing"),
    ("{kind: forecast_accuracy, within: 5, measure: pipeline}", "check.measure: expected one of"),
    ("{kind: forecast_submitted, quarter: last}", "check.quarter: expected current, next"),
    ("{kind: forecast_guess}", "expected kind to be one of"),
])
def test_bad_forecast_objectives(check: str, expected: str) -> None:
    text = with_objectives(f"""
  - id: f
    title: {{zh: 预测, en: Forecast}}
    points: 5
    check: {check}
""")
    assert any(expected in line for line in _problems(text)), _problems(text)


def test_the_key_account_scenario_forecasts() -> None:
    text = (SCENARIOS / "key-accounts.yaml").read_text(encoding="utf-8")
    scenario = parse_scenario(text, "key-accounts.yaml")
    kinds = {o.check.kind for o in scenario.objectives}
    assert {"forecast_submitted", "forecast_accuracy"} <= kinds
    assert scenario.quotas is not None and scenario.quotas.quarters == ["current", "next"]


def test_loading_fills_missing_quotas_and_keeps_the_trainers(app, classroom, create_run):
    teacher, student = classroom.user("teacher"), classroom.user("studentA")
    quarter = current_quarter()
    as_user(teacher, set_quota, student, quarter, Decimal("777"))
    create_run(classroom.classes["A"], teacher, "key-accounts")
    rows = {(q.owner_id, q.fiscal_year, q.quarter): q.amount
            for q in db.session.scalars(select(Quota).execution_options(skip_visibility=True))}
    assert rows[(student.id, quarter.year, quarter.quarter)] == Decimal("777.00")  # the trainer's stays
    nxt = quarter.next()
    assert rows[(student.id, nxt.year, nxt.quarter)] == Decimal("1500000.00")
    peer = classroom.user("peerA")
    assert rows[(peer.id, quarter.year, quarter.quarter)] == Decimal("1500000.00")
    assert not any(owner == classroom.user("studentB").id for owner, _y, _q in rows)  # class B loads nothing
    # A reset keeps them all and adds nothing twice.
    from sandbox.classroom.runs.services import reset_scenario
    as_user(teacher, reset_scenario, classroom.classes["A"])
    again = {(q.owner_id, q.fiscal_year, q.quarter): q.amount
             for q in db.session.scalars(select(Quota).execution_options(skip_visibility=True))}
    assert again == rows


def test_a_replaced_run_says_why_it_cannot_compare(app, classroom, run):
    student = classroom.user("studentA")
    _deal(student, "Won", "closed_won", 1000)
    _submit(student)
    set_deadline(run, utcnow())
    assert outcome(run, student, "accurate").points == Decimal("10.00")
    make_run(classroom, text=TEXT)  # a later load replaces this run's data
    got = outcome(run, student, "accurate")
    assert got.points == 0 and "replaced" in got.reason
    assert outcome(run, student, "submitted").points == Decimal("5.00")  # read from the log: it still stands


def test_a_late_joiner_gets_the_scenario_quotas(app, classroom, create_run):
    create_run(classroom.classes["A"], classroom.user("teacher"), "key-accounts")
    pending = classroom.user("pendingA")
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/admin/approvals", data={"user_ids": [pending.id], "decision": "approve",
                                                      "position_id": classroom.positions["A2"].id, "role": "student",
                                                      "reason": ""})
    assert response.status_code == 302
    db.session.expire_all()
    quarters = {(q.fiscal_year, q.quarter) for q in db.session.scalars(
        select(Quota).where(Quota.owner_id == pending.id).execution_options(skip_visibility=True))}
    now = current_quarter()
    assert quarters == {(now.year, now.quarter), (now.next().year, now.next().quarter)}
