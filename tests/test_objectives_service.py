"""The `case_resolved` check kind on the Service desk scenario: honest work counts, and each way of earning
points without it earns nothing: the same case twice, back-and-forth, a skipped state, a case someone else
closed, an imported bulk change, no satisfaction score, the wrong level, a deleted case.

Transitions are written here as the workflow contract says the engine logs them (verb `case.transition`,
params workflow/from/to, the state, timestamps and satisfaction among the entry's changes), so the check is
tested against the contract, not against one engine's internals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sandbox.campaigns.models import Campaign, CampaignMember
from sandbox.cases.models import Case, CaseHistory
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import current_actor, current_op, operation
from sandbox.org.models import utcnow
from sandbox.records.services import create_record, delete_record
from seed import load_scenario
from seed.loading import ScenarioError, parse_scenario
from seed.workflows import FLOWS
from tests.test_objectives import SCENARIOS, as_user, make_run, outcome, reload

SERVICE_DESK = (SCENARIOS / "service-desk.yaml").read_text(encoding="utf-8")


def open_case(user: Any, workflow: str = "complaint", **fields: Any) -> Case:
    """A new case of `user` in its workflow's initial state (as `case.create` writes it)."""
    data = {"workflow": workflow, "subject": f"{workflow} case", "state": FLOWS[workflow].initial, **fields}
    if workflow == "complaint":
        data = {"level": 2, "channel": "phone", "target": "company", **data}
    return as_user(user, create_record, Case, data)


def _apply(case: Case, to: str, satisfaction: int | None, data: dict[str, Any]) -> None:
    flow, old, now = FLOWS[case.workflow], case.state, utcnow()
    case.state = to
    if to == "received":
        case.received_at = now
    if to in flow.resolving:
        case.resolved_at = now
    if to in flow.closing:
        case.closed_at = now
    if satisfaction is not None:
        case.satisfaction = satisfaction
    if data:
        case.data = {**(case.data or {}), **data}
    db.session.add(CaseHistory(case_id=case.id, from_state=old, to_state=to,
                               changed_by_id=getattr(current_actor(), "id", None), values=data or None))
    current_op().target(case, workflow=case.workflow, **{"from": old, "to": to})


@operation("case.transition")
def _transition(case: Case, to: str, satisfaction: int | None = None, **data: Any) -> Case:
    _apply(case, to, satisfaction, data)
    return case


@operation("case.transition")
def _imported_transition(case: Case, to: str, satisfaction: int | None = None, **data: Any) -> Case:
    current_op().source = "import"  # a row of a bulk status change from a file
    _apply(case, to, satisfaction, data)
    return case


def move(user: Any, case: Case, *states: str, satisfaction: int | None = None, imported: bool = False) -> None:
    """`user` moves the case through `states` one transition each; the score goes with the last one."""
    for i, state in enumerate(states):
        fn = _imported_transition if imported else _transition
        as_user(user, fn, reload(Case, case.id), state, satisfaction if i == len(states) - 1 else None)


COMPLAINT_PATH = ("assigned", "received", "investigated", "agreed", "closed")


@pytest.fixture
def run(classroom: Any) -> Any:
    return make_run(classroom, text=SERVICE_DESK, name="service-desk")


def test_two_level2_complaints_through_every_state_with_a_score_earn_the_points(app, classroom, run):
    student = classroom.user("studentA")
    first, second = open_case(student), open_case(student)
    move(student, first, *COMPLAINT_PATH, satisfaction=5)
    got = outcome(run, student, "level2-complaints")
    assert (got.done, got.points) == (1, Decimal("10.00"))
    assert got.records == [("case", first.id, "complaint case")]
    move(student, second, *COMPLAINT_PATH, satisfaction=4)
    got = outcome(run, student, "level2-complaints")
    assert (got.done, got.needed, got.points) == (2, 2, Decimal("20.00"))
    assert "2 of 2 level-2 complaints taken through Assigned → Received → Investigated → Agreed with the customer" \
        " → Case closed, with a satisfaction score" in got.reason
    assert outcome(run, classroom.user("peerA"), "level2-complaints").done == 0


def test_a_skipped_state_leaves_the_path_incomplete(app, classroom, run):
    student = classroom.user("studentA")
    case = open_case(student)
    move(student, case, "assigned", "investigated", "agreed", "closed", satisfaction=5)  # never received
    assert outcome(run, student, "level2-complaints").done == 0


def test_no_satisfaction_score_or_the_wrong_level_earns_nothing(app, classroom, run):
    student = classroom.user("studentA")
    unscored, level3 = open_case(student), open_case(student, level=3)
    move(student, unscored, *COMPLAINT_PATH)
    move(student, level3, *COMPLAINT_PATH, satisfaction=5)
    assert outcome(run, student, "level2-complaints").done == 0


def test_a_case_closed_by_someone_else_is_nobodys(app, classroom, run):
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    case = open_case(student)
    move(student, case, *COMPLAINT_PATH[:-1])
    move(peer, case, "closed", satisfaction=5)
    assert outcome(run, student, "level2-complaints").done == 0
    assert outcome(run, peer, "level2-complaints").done == 0


def test_imported_transitions_do_not_count(app, classroom, run):
    student = classroom.user("studentA")
    case = open_case(student)
    move(student, case, *COMPLAINT_PATH, satisfaction=5, imported=True)
    assert outcome(run, student, "level2-complaints").done == 0


def test_a_deleted_case_stops_counting(app, classroom, run):
    student = classroom.user("studentA")
    case = open_case(student)
    move(student, case, *COMPLAINT_PATH, satisfaction=5)
    assert outcome(run, student, "level2-complaints").done == 1
    as_user(student, delete_record, reload(Case, case.id))
    assert outcome(run, student, "level2-complaints").done == 0


def test_the_same_visit_order_twice_is_one_and_moving_it_back_out_is_none(app, classroom, run):
    student = classroom.user("studentA")
    order = open_case(student, "visit_order")
    move(student, order, "processing", "completed", "processing", "completed", "processing", "completed")
    got = outcome(run, student, "visit-orders")
    assert (got.done, got.points) == (1, Decimal("5.00"))
    move(student, order, "processing")  # back out of the end state: no longer completed
    assert outcome(run, student, "visit-orders").done == 0
    # Straight from unprocessed to completed skips processing.
    direct = open_case(student, "visit_order")
    move(student, direct, "completed")
    assert outcome(run, student, "visit-orders").done == 0


def test_suggestions_end_adopted_or_not_and_info_flow_must_be_received_before_replied(app, classroom, run):
    student = classroom.user("studentA")
    adopted, rejected = open_case(student, "suggestion"), open_case(student, "suggestion")
    move(student, adopted, "assigned", "received", "adopted")
    move(student, rejected, "assigned", "received", "not_adopted")
    assert outcome(run, student, "suggestions").points == Decimal("15.00")
    ticket, fed_back = open_case(student, "info_flow"), open_case(student, "info_flow")
    move(student, ticket, "assigned", "received", "replied", "closed")
    move(student, fed_back, "assigned", "received", "fed_back", "closed")  # the objective asks for a reply
    got = outcome(run, student, "info-flow")
    assert (got.done, got.points) == (1, Decimal("7.50"))
    # Replied, sent back as unclear, replied again and closed: still one ticket, taken through every state.
    again = open_case(student, "info_flow")
    move(student, again, "assigned", "received", "replied", "assigned", "received", "replied", "closed")
    assert outcome(run, student, "info-flow").done == 2


def test_another_class_and_the_generated_books_change_nothing(app, classroom, run):
    other = classroom.user("studentB")  # class B: not in this run
    case = open_case(other)
    move(other, case, *COMPLAINT_PATH, satisfaction=5)
    assert outcome(run, classroom.user("studentA"), "level2-complaints").done == 0


def test_the_new_complaint_objective_counts_a_complaint_the_student_opened(app, classroom, run):
    student = classroom.user("studentA")
    open_case(student, "suggestion")
    assert outcome(run, student, "new-complaint").done == 0
    open_case(student)
    assert outcome(run, student, "new-complaint").done == 1


# ---- campaign members -------------------------------------------------------------------------------------
@operation("campaign.add_member")
def _add_member(campaign: Campaign, lead: Lead, status: str) -> CampaignMember:
    member = CampaignMember(campaign_id=campaign.id, lead_id=lead.id, status=status,
                            added_by_id=current_actor().id, added_at=utcnow())
    db.session.add(member)
    current_op().target(campaign, child_id=None)
    return member


@operation("campaign.update_member")
def _set_status(member: CampaignMember, status: str) -> None:
    member.status = status
    current_op().target(db.session.get(Campaign, member.campaign_id))


@operation("campaign.remove_member")
def _remove_member(member: CampaignMember) -> None:
    campaign = db.session.get(Campaign, member.campaign_id)
    db.session.delete(member)
    current_op().target(campaign)


def _members(user: Any, campaign: Campaign, *statuses: str) -> list[CampaignMember]:
    out = []
    for n, status in enumerate(statuses):
        lead = as_user(user, create_record, Lead, {"name": f"Member {n}", "status": "new"})
        out.append(as_user(user, _add_member, reload(Campaign, campaign.id), reload(Lead, lead.id), status))
    return out


def test_campaign_members_who_responded_count_while_they_stand(app, classroom, run):
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    campaign = as_user(student, create_record, Campaign, {"name": "Call-back", "status": "in_progress"})
    members = _members(student, campaign, "responded", "responded", "sent")
    got = outcome(run, student, "campaign-responses")
    assert (got.done, got.points) == (2, Decimal("3.33"))
    assert got.records == [("campaign", campaign.id, "Call-back")]
    as_user(student, _set_status, reload(CampaignMember, members[2].id), "responded")
    assert outcome(run, student, "campaign-responses").points == Decimal("5.00")
    # A status set back, a member removed: no longer counted.
    as_user(student, _set_status, reload(CampaignMember, members[0].id), "unsubscribed")
    as_user(student, _remove_member, reload(CampaignMember, members[1].id))
    assert outcome(run, student, "campaign-responses").done == 1
    # A classmate's members (even in the student's campaign) and a deleted campaign count for nobody.
    theirs = as_user(peer, create_record, Campaign, {"name": "Peer's", "status": "planned"})
    _members(peer, theirs, "responded")
    assert outcome(run, peer, "campaign-responses").done == 1
    as_user(peer, delete_record, reload(Campaign, theirs.id))
    assert outcome(run, peer, "campaign-responses").done == 0


def test_members_added_before_the_run_do_not_count(app, classroom):
    student = classroom.user("studentA")
    campaign = as_user(student, create_record, Campaign, {"name": "Old", "status": "completed"})
    _members(student, campaign, "responded", "responded", "responded")
    later = make_run(classroom, text=SERVICE_DESK, name="service-desk")
    db.session.execute(CampaignMember.__table__.update().values(added_at=later.started_at.replace(year=2020)))
    db.session.commit()
    assert outcome(later, student, "campaign-responses").done == 0


# ---- scenario validation: unknown workflows and states are told as file: path: expectation -------------
def _with_check(check: str) -> str:
    return SERVICE_DESK.replace("check: {kind: case_resolved, workflow: complaint, level: 2, count: 2}", check)


@pytest.mark.parametrize(("check", "message"), [
    ("check: {kind: case_resolved, workflow: complain, count: 2}",
     'objectives[0].check.workflow: unknown workflow "complain" (did you mean complaint?)'),
    ("check: {kind: case_resolved, workflow: complaint, path: [assigned, recieved], count: 2}",
     'objectives[0].check.path[1]: unknown state of complaint "recieved" (did you mean received?)'),
    ("check: {kind: case_resolved, workflow: complaint, path: [assigned, investigated], count: 2}",
     "objectives[0].check.path[1]: expected a state assigned can move to in complaint; assigned → investigated is not a move"),
    ("check: {kind: case_resolved, workflow: visit_order, count: 2}",
     "objectives[0].check.satisfaction: expected false: a satisfaction score is given on closing"),
    ("check: {kind: case_resolved, workflow: suggestion, level: 2, satisfaction: false}",
     "objectives[0].check.level: expected a complaint level from 1 to 5 (only complaints have levels)"),
    ("check: {kind: case_resolved, workflow: complaint, level: 0}",
     "objectives[0].check.level: expected a complaint level from 1 to 5"),
    ("check: {kind: case_resolved, workflow: complaint, ends: [agreed]}",
     "objectives[0].check.ends[0]: expected a state agreed can move to in complaint; agreed → agreed is not a move"),
])
def test_bad_case_objectives_are_told(check: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(_with_check(check), "service-desk.yaml")
    assert any(line.startswith(f"service-desk.yaml: {message}") for line in caught.value.lines()), caught.value.lines()


def test_unknown_generated_workflows_are_told() -> None:
    text = SERVICE_DESK.replace("per_student: {complaint: 4,", "per_student: {complaints: 4,")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "service-desk.yaml")
    assert 'service-desk.yaml: cases.per_student.complaints: unknown workflow "complaints" (did you mean complaint?)' \
        in caught.value.lines()[0]


def test_the_shipped_service_objectives_use_the_contracts_paths() -> None:
    s = load_scenario(SCENARIOS / "service-desk.yaml")
    kinds = {o.id: o.check.kind for o in s.objectives}
    assert [k for k, v in kinds.items() if v == "case_resolved"] == ["level2-complaints", "info-flow", "suggestions",
                                                                     "visit-orders"]


# ---- the incremental gradebook re-scores them for their own records only ---------------------------------------

CASE_OBJECTIVES = {"level2-complaints", "info-flow", "suggestions", "visit-orders"}


def test_case_and_campaign_objectives_are_rescored_by_their_cases_and_campaigns_only(app, classroom, run, monkeypatch):
    from sandbox.classroom.grading import incremental
    from sandbox.classroom.grading.gradebook import gradebook, student_row
    from tests.test_gradebook_incremental import assert_same

    scored: list[str] = []
    real = incremental.evaluate
    monkeypatch.setattr(incremental, "evaluate", lambda o, ctx: scored.append(o.id) or real(o, ctx))
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    case = open_case(student)
    move(student, case, *COMPLAINT_PATH, satisfaction=5)
    campaign = as_user(student, create_record, Campaign, {"name": "Call-back", "status": "in_progress"})
    members = _members(student, campaign, "responded", "responded")
    gradebook(reload(type(run), run.id))
    student_row(reload(type(run), run.id), reload(type(student), student.id))
    scored.clear()

    as_user(student, create_record, Lead, {"name": "Unrelated", "status": "new"})  # no case, no member
    gradebook(reload(type(run), run.id))
    assert not set(scored) & (CASE_OBJECTIVES | {"campaign-responses"})

    # A classmate moves the student's closed complaint back out; the student sets a member's status back.
    move(peer, case, "investigated")
    as_user(student, _set_status, reload(CampaignMember, members[0].id), "sent")
    scored.clear()
    row = student_row(reload(type(run), run.id), reload(type(student), student.id))
    assert CASE_OBJECTIVES | {"campaign-responses"} <= set(scored)
    assert row.cells["level2-complaints"].outcome.done == 0 and row.cells["campaign-responses"].outcome.done == 1
    assert_same(reload(type(run), run.id), classroom)
