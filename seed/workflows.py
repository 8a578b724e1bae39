"""The shipped case workflows as scenario files and grading may name them (the workflow contract).

seed/ imports nothing of sandbox, so the keys, states and moves of the definitions in `workflows/*.yaml`
are mirrored here: scenario validation rejects an unknown workflow or state, the generator puts open
cases in plausible states with a history that only takes these moves, and the `case_resolved` check
reads its default path from here. tests/test_service_scenario.py compares this table with the engine's
definitions when they are installed, so a drift fails the tests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flow:
    """One workflow: its states in order (initial first), its moves, and what grading asks by default."""

    key: str
    name_zh: str
    name_en: str
    states: tuple[str, ...]
    moves: tuple[tuple[str, str], ...]
    closing: tuple[str, ...]  # states that set closed_at (a satisfaction score is given on entering them)
    resolving: tuple[str, ...]  # states that set resolved_at
    path: tuple[str, ...]  # the required path of `case_resolved` by default: each move along it...
    ends: tuple[str, ...]  # ...then one move into one of these, where the case must still stand

    @property
    def initial(self) -> str:
        """The state a new case starts in."""
        return self.states[0]

    def allows(self, source: str, target: str) -> bool:
        """Whether the definition has the move `source → target`."""
        return (source, target) in self.moves


def _chain(*states: str) -> tuple[tuple[str, str], ...]:
    return tuple(zip(states, states[1:], strict=False))


FLOWS: dict[str, Flow] = {f.key: f for f in (
    Flow("feedback", "客户反馈", "Feedback", ("new", "in_progress", "resolved", "closed"),
         (*_chain("new", "in_progress", "resolved", "closed"), ("resolved", "in_progress")),
         closing=("closed",), resolving=("resolved",), path=("new", "in_progress", "resolved"), ends=("closed",)),
    Flow("service_request", "服务请求", "Service request", ("new", "assigned", "in_progress", "resolved", "closed"),
         (*_chain("new", "assigned", "in_progress", "resolved", "closed"), ("resolved", "in_progress")),
         closing=("closed",), resolving=("resolved",), path=("assigned", "in_progress", "resolved"), ends=("closed",)),
    Flow("complaint", "投诉单", "Complaint", ("new", "assigned", "received", "investigated", "agreed", "closed"),
         _chain("new", "assigned", "received", "investigated", "agreed", "closed"),
         closing=("closed",), resolving=("agreed",), path=("assigned", "received", "investigated", "agreed"),
         ends=("closed",)),
    Flow("suggestion", "建议单", "Suggestion", ("new", "assigned", "received", "adopted", "not_adopted"),
         (*_chain("new", "assigned", "received", "adopted"), ("received", "not_adopted")),
         closing=("adopted", "not_adopted"), resolving=("adopted", "not_adopted"), path=("assigned", "received"),
         ends=("adopted", "not_adopted")),
    Flow("info_flow", "信息流转单", "Information-flow ticket",
         ("new", "assigned", "received", "replied", "fed_back", "closed"),
         (*_chain("new", "assigned", "received", "replied", "closed"), ("received", "fed_back"),
          ("fed_back", "closed"), ("replied", "assigned")),
         closing=("closed",), resolving=("replied", "fed_back"), path=("assigned", "received", "replied"),
         ends=("closed",)),
    Flow("visit_order", "关键客户拜访单", "Key-customer visit order",
         ("unprocessed", "processing", "completed", "rejected"),
         (("unprocessed", "processing"), ("unprocessed", "completed"), ("unprocessed", "rejected"),
          ("processing", "completed"), ("processing", "rejected"), ("completed", "processing"),
          ("rejected", "completed"), ("rejected", "processing")),
         closing=(), resolving=("completed",), path=("unprocessed", "processing"), ends=("completed",)),
    Flow("repair_order", "维修单", "Repair order",
         ("request", "order", "dispatched", "completed", "reviewed", "settled", "called_back", "signed_off"),
         _chain("request", "order", "dispatched", "completed", "reviewed", "settled", "called_back", "signed_off"),
         closing=("signed_off",), resolving=("completed",),
         path=("request", "order", "dispatched", "completed", "reviewed", "settled", "called_back"),
         ends=("signed_off",)),
)}

# Complaint SLA hours per level (1 is the most severe); the other workflows' one figure.
COMPLAINT_SLA_HOURS = {1: 24, 2: 48, 3: 72, 4: 120, 5: 120}
SLA_HOURS = {"feedback": 72, "service_request": 48, "suggestion": 120, "info_flow": 48, "visit_order": 168,
             "repair_order": 72}


def sla_hours(workflow: str, level: int | None) -> int:
    """Hours from creation to the SLA deadline of a case (a complaint's by its level)."""
    if workflow == "complaint":
        return COMPLAINT_SLA_HOURS.get(level or 3, 72)
    return SLA_HOURS.get(workflow, 72)


def walk(flow: Flow, target: str) -> list[str]:
    """The states from the initial one to `target` along the shortest run of moves (the initial alone for it)."""
    paths = {flow.initial: [flow.initial]}
    frontier = [flow.initial]
    while frontier:
        nxt = []
        for state in frontier:
            for source, dest in flow.moves:
                if source == state and dest not in paths:
                    paths[dest] = [*paths[state], dest]
                    nxt.append(dest)
        frontier = nxt
    if target not in paths:
        raise ValueError(f"{flow.key}: {target} cannot be reached")
    return paths[target]
