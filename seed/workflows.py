"""The shipped case workflows as scenario files and grading name them, read from `workflows/*.yaml`.

seed/ imports nothing of sandbox, so it reads the same definition files the engine (sandbox/workflows/)
loads, as plain YAML: the keys, states, moves, the states that resolve or close a case and the SLA hours
come from there, once. What is grading's own is kept here: the default required path of `case_resolved`
and the end states it accepts. Scenario validation rejects an unknown workflow or state, the generator puts
open cases in plausible states with a history that only takes these moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


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
    sla: int | dict[int, int] = 72  # hours to the SLA deadline (a complaint's per level)

    @property
    def initial(self) -> str:
        """The state a new case starts in."""
        return self.states[0]

    def allows(self, source: str, target: str) -> bool:
        """Whether the definition has the move `source → target`."""
        return (source, target) in self.moves


# Grading's defaults per workflow: the states whose moves `case_resolved` asks for, each move along them...
# ...then one move into one of the end states, where the case must still stand.
GRADING: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "feedback": (("new", "in_progress", "resolved"), ("closed",)),
    "service_request": (("assigned", "in_progress", "resolved"), ("closed",)),
    "complaint": (("assigned", "received", "investigated", "agreed"), ("closed",)),
    "suggestion": (("assigned", "received"), ("adopted", "not_adopted")),
    "info_flow": (("assigned", "received", "replied"), ("closed",)),
    "visit_order": (("unprocessed", "processing"), ("completed",)),
    "repair_order": (("request", "order", "dispatched", "completed", "reviewed", "settled", "called_back"),
                     ("signed_off",)),
}
FOLDER = Path(__file__).resolve().parent.parent / "workflows"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _flow(data: dict[str, Any]) -> Flow:
    """A Flow from one definition file's data (already checked by the engine's loader and its tests)."""
    key = data["key"]
    states = [state["name"] for state in data["states"]]
    initial = data["initial"]
    states.sort(key=lambda name: name != initial)  # the initial state first, the others in file order
    moves = tuple((source, t["to"]) for t in data.get("transitions", []) for source in _as_list(t["from"]))
    sets = {state["name"]: set(state.get("sets") or ()) for state in data["states"]}
    path, ends = GRADING.get(key, ((), ()))
    sla = data.get("sla_hours_by_level") or data.get("sla_hours") or 72
    return Flow(key, data["name"]["zh"], data["name"]["en"], tuple(states), moves,
                closing=tuple(s for s in states if "closed_at" in sets[s]),
                resolving=tuple(s for s in states if "resolved_at" in sets[s]),
                path=path, ends=ends, sla={int(k): int(v) for k, v in sla.items()} if isinstance(sla, dict) else int(sla))


def _load(folder: Path) -> dict[str, Flow]:
    flows = [_flow(yaml.safe_load(path.read_text(encoding="utf-8"))) for path in sorted(folder.glob("*.yaml"))]
    return {flow.key: flow for flow in flows}


FLOWS: dict[str, Flow] = _load(FOLDER)


def sla_hours(workflow: str, level: int | None) -> int:
    """Hours from creation to the SLA deadline of a case (a complaint's by its level)."""
    flow = FLOWS.get(workflow)
    if flow is None:
        return 72
    if isinstance(flow.sla, dict):
        return flow.sla.get(level or 3, 72)
    return flow.sla


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
