"""Every allowed and every refused move of every shipped workflow, from the contract table (not the engine).

The table below is docs' contract (notes: workflows.md): the states of each workflow, the moves it allows
and its locked states. For every ordered pair of states a case is brought to the first one along allowed
moves, then asked to move to the second: an allowed move changes the state and logs one `case.transition`
entry; any other is refused with a message, and nothing changes (state, history, log).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
from sqlalchemy import func, select

from sandbox.cases import services
from sandbox.cases.models import Case, CaseHistory
from sandbox.errors import ServiceError
from sandbox.extensions import db
from sandbox.oplog import LogEntry
from tests.helpers import act_as


def chain(*states: str) -> set[tuple[str, str]]:
    """The moves of a straight chain of states."""
    return set(zip(states, states[1:], strict=False))


# workflow -> (states, initial first; allowed moves; locked states)
CONTRACT: dict[str, tuple[list[str], set[tuple[str, str]], set[str]]] = {
    "feedback": (["new", "in_progress", "resolved", "closed"],
                 chain("new", "in_progress", "resolved", "closed") | {("resolved", "in_progress")}, {"closed"}),
    "service_request": (["new", "assigned", "in_progress", "resolved", "closed"],
                        chain("new", "assigned", "in_progress", "resolved", "closed") | {("resolved", "in_progress")},
                        {"closed"}),
    "complaint": (["new", "assigned", "received", "investigated", "agreed", "closed"],
                  chain("new", "assigned", "received", "investigated", "agreed", "closed"), {"closed"}),
    "suggestion": (["new", "assigned", "received", "adopted", "not_adopted"],
                   chain("new", "assigned", "received", "adopted") | {("received", "not_adopted")},
                   {"adopted", "not_adopted"}),
    "info_flow": (["new", "assigned", "received", "replied", "fed_back", "closed"],
                  chain("new", "assigned", "received", "replied", "closed") | chain("received", "fed_back", "closed")
                  | {("replied", "assigned")}, {"closed"}),
    "visit_order": (["unprocessed", "processing", "completed", "rejected"],
                    {("unprocessed", "processing"), ("unprocessed", "completed"), ("unprocessed", "rejected"),
                     ("processing", "completed"), ("processing", "rejected"), ("completed", "processing"),
                     ("rejected", "completed"), ("rejected", "processing")}, set()),
    "repair_order": (["request", "order", "dispatched", "completed", "reviewed", "settled", "called_back",
                      "signed_off"],
                     chain("request", "order", "dispatched", "completed", "reviewed", "settled", "called_back",
                           "signed_off"), {"signed_off"}),
}

# Values every move may ask for: each move takes the ones it needs.
def full_values(assignee_id: int) -> dict[str, Any]:
    """A value for every field any shipped move requires."""
    return {"assignee_id": assignee_id, "investigation": "Checked the meter", "measure": "Replaced it",
            "result": "Customer agrees", "supervision_opinion": "Approved", "reason": "Too costly",
            "reply": "Answer", "feedback": "Passed on", "unclear_reason": "Which meter?", "technician": "Wang",
            "solution": "Fixed", "review_opinion": "Fine", "cost": "120.50", "callback_note": "Happy",
            "visit_note": "Visited", "reject_reason": "Duplicate"}


CREATE = {"complaint": {"level": 2, "channel": "phone", "target": "company"}, "suggestion": {"code_group": 3}}


def path_to(workflow: str, target: str) -> list[str]:
    """The states after the initial one along allowed moves to `target` (breadth first)."""
    states, moves, _locked = CONTRACT[workflow]
    todo, seen = deque([(states[0], [])]), {states[0]}
    while todo:
        here, path = todo.popleft()
        if here == target:
            return path
        for source, dest in sorted(moves):
            if source == here and dest not in seen:
                seen.add(dest)
                todo.append((dest, [*path, dest]))
    raise AssertionError(f"{target} unreachable in the contract of {workflow}")


def transitions_logged() -> int:
    """The number of case.transition entries."""
    return db.session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.verb == "case.transition")
                             .execution_options(skip_visibility=True))


@pytest.mark.parametrize("workflow", sorted(CONTRACT))
def test_every_move_of_the_contract(classroom: Any, workflow: str) -> None:
    """Allowed moves change the state and log once; every other pair is refused and changes nothing."""
    states, moves, locked = CONTRACT[workflow]
    admin, student = classroom.user("admin"), classroom.user("studentA")
    values = full_values(classroom.user("peerA").id)
    checked = 0
    for source in states:
        for dest in states:
            if source == dest:
                continue
            act_as(admin)  # the graph, not who moves: the admin may make every move (who is tested elsewhere)
            case = services.create_case(workflow, {"subject": f"{source}->{dest}", **CREATE.get(workflow, {})},
                                        owner=student)
            for step in path_to(workflow, source):
                services.transition_case(case, step, values)
            db.session.commit()
            assert case.state == source
            history, logged, version = len(case.history), transitions_logged(), case.version
            if (source, dest) in moves:
                services.transition_case(case, dest, values)
                db.session.commit()
                assert case.state == dest
                assert transitions_logged() == logged + 1
                entry = db.session.scalars(select(LogEntry).where(LogEntry.verb == "case.transition")
                                           .order_by(LogEntry.id.desc()).execution_options(skip_visibility=True)).first()
                assert (entry.object_type, entry.object_id) == ("case", case.id)
                assert entry.params == {"workflow": workflow, "from": source, "to": dest}
                assert entry.changes["fields"]["state"] == [source, dest]
            else:
                with pytest.raises(ServiceError) as refused:
                    services.transition_case(case, dest, values)
                db.session.rollback()
                case = db.session.get(Case, case.id)
                assert refused.value.message, (source, dest)
                if source in locked:
                    assert "locked" in refused.value.message
                else:
                    assert "cannot move" in refused.value.message
                assert case.state == source and case.version == version
                assert len(case.history) == history and transitions_logged() == logged
            checked += 1
    assert checked == len(states) * (len(states) - 1)


@pytest.mark.parametrize("workflow", sorted(CONTRACT))
def test_shipped_definition_matches_the_contract(app: Any, workflow: str) -> None:
    """The shipped file has exactly the contract's states (initial first), moves and locked states."""
    from sandbox.workflows import engine

    states, moves, locked = CONTRACT[workflow]
    wf = engine.definitions()[workflow]
    assert [s.name for s in wf.states] == states and wf.initial == states[0]
    assert {(f, t.to) for t in wf.transitions for f in t.from_} == moves
    assert {s.name for s in wf.states if s.locked} == locked


def test_history_rows_follow_the_moves(classroom: Any) -> None:
    """Creation and each move add one history row (from, to, who)."""
    act_as(classroom.user("studentA"))
    case = services.create_case("visit_order", {"subject": "Visit Ningbo Gas"})
    services.transition_case(case, "processing")
    services.transition_case(case, "completed", {"visit_note": "Met the director"})
    db.session.commit()
    rows = db.session.scalars(select(CaseHistory).where(CaseHistory.case_id == case.id).order_by(CaseHistory.id)).all()
    assert [(r.from_state, r.to_state) for r in rows] == [(None, "unprocessed"), ("unprocessed", "processing"),
                                                          ("processing", "completed")]
    assert {r.changed_by_id for r in rows} == {classroom.user("studentA").id}
    assert rows[-1].values == {"visit_note": "Met the director"}
    assert case.data == {"visit_note": "Met the director"} and case.resolved_at is not None
