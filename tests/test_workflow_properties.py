"""Property-based walks (Hypothesis): random sequences of requested moves, with or without the fields they need,
never bring a case to a state the contract forbids: every move made is one of the contract's, a locked state
stays locked, a visit order never goes back to unprocessed, and a refused move changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.cases import services
from sandbox.errors import ServiceError
from sandbox.extensions import db
from tests.helpers import act_as
from tests.test_workflow_contract import CONTRACT, CREATE, full_values

WALK = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.parametrize("workflow", sorted(CONTRACT))
def test_random_walks_stay_inside_the_contract(classroom: Any, workflow: str) -> None:
    states, moves, locked = CONTRACT[workflow]
    student = classroom.user("studentA")
    every = full_values(classroom.user("peerA").id)
    made: list[tuple[str, str]] = []

    @WALK
    # A step asks for a move the contract allows from here (index into them) or for any state at all, with all
    # the fields or a random part of them: walks go deep and also try every kind of illegal move.
    @given(steps=st.lists(st.tuples(st.booleans(), st.integers(0, 5), st.sampled_from(states),
                                    st.one_of(st.just(set(every)), st.sets(st.sampled_from(sorted(every))))),
                          min_size=1, max_size=14))
    def walk(steps: list[tuple[bool, int, str, set[str]]]) -> None:
        act_as(classroom.user("admin"))
        case = services.create_case(workflow, {"subject": "walk", **CREATE.get(workflow, {})}, owner=student)
        db.session.commit()
        left_initial = False
        for follow, index, anywhere, fields in steps:
            allowed = sorted(dest for source, dest in moves if source == case.state)
            to = allowed[index % len(allowed)] if follow and allowed else anywhere
            before, version = case.state, case.version
            try:
                services.transition_case(case, to, {name: every[name] for name in fields})
                db.session.commit()
            except ServiceError:
                db.session.rollback()
                assert (case.state, case.version) == (before, version)  # refused: nothing changed
                continue
            assert (before, case.state) in moves, (before, case.state)
            assert before not in locked
            made.append((before, case.state))
            left_initial = left_initial or case.state != states[0]
            if workflow == "visit_order" and left_initial:
                assert case.state != "unprocessed"
        assert case.state in states

    walk()
    assert len(set(made)) >= 2  # the walks did move (not only refusals)
