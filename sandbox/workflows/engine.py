"""The workflow engine: the shipped definitions, their state graphs, and the questions the case services ask.

The graph of each definition is a `transitions.Machine` (the maintained state-machine library) built from
the data, so "which moves leave this state" and "is this move allowed" are the library's answers; the
rules it does not model (who may move, required fields, stamps, notifications) are read from the
definition itself. Definitions are loaded once per folder (`WORKFLOW_FOLDER`, default `workflows/` at
the repository root) and kept: a restart reads edited files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from transitions import Machine

from .loading import WORKFLOW_DIR, load_folder
from .schema import Requirement, TransitionDef, Workflow


def folder() -> Path:
    """The folder the definitions are read from: the app's WORKFLOW_FOLDER, the environment's, or workflows/."""
    configured = None
    try:
        from flask import current_app

        configured = current_app.config.get("WORKFLOW_FOLDER")
    except RuntimeError:  # no application: the CLI validating a file, a pure test
        pass
    return Path(configured or os.environ.get("WORKFLOW_FOLDER") or WORKFLOW_DIR)


@dataclass(frozen=True)
class Graph:
    """A loaded definition with its state machine and its moves by (from, to)."""

    workflow: Workflow
    machine: Machine
    moves: dict[tuple[str, str], TransitionDef]

    def outgoing(self, state: str) -> list[TransitionDef]:
        """The moves out of `state`, in the order the file lists them."""
        found = {(t.source, t.dest) for t in self.machine.get_transitions(source=state)}
        return [t for (source, dest), t in self.moves.items() if (source, dest) in found]

    def move(self, source: str, dest: str) -> TransitionDef | None:
        """The definition of the move source → dest, or None when the graph has no such move."""
        if not self.machine.get_transitions(source=source, dest=dest):
            return None
        return self.moves.get((source, dest))


def build_graph(wf: Workflow) -> Graph:
    """The state machine of a definition (no model attached: the case row holds the state)."""
    moves: dict[tuple[str, str], TransitionDef] = {}
    specs = []
    for tr in wf.transitions:
        for source in tr.from_:
            moves[(source, tr.to)] = tr
            specs.append({"trigger": f"{source}__{tr.to}", "source": source, "dest": tr.to})
    machine = Machine(model=None, states=[s.name for s in wf.states], transitions=specs, initial=wf.initial,
                      auto_transitions=False)
    return Graph(wf, machine, moves)


@lru_cache(maxsize=8)
def _graphs(path: str) -> dict[str, Graph]:
    return {key: build_graph(wf) for key, wf in load_folder(path).items()}


def graphs() -> dict[str, Graph]:
    """The shipped definitions' graphs by key (loaded once per folder)."""
    return _graphs(str(folder()))


def graph(key: str | None) -> Graph | None:
    """The graph of workflow `key`, else None."""
    return graphs().get(key or "")


def definitions() -> dict[str, Workflow]:
    """The shipped definitions by key, in the folder's order."""
    return {key: g.workflow for key, g in graphs().items()}


def reload() -> None:
    """Forget the loaded definitions (tests that point WORKFLOW_FOLDER elsewhere)."""
    _graphs.cache_clear()


def empty(value: Any) -> bool:
    """Whether a value counts as not given (None, blank text, an empty list)."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def matches(when: Mapping[str, Any] | None, values: Mapping[str, Any]) -> bool:
    """Whether the values meet a condition (`{level: 1}`: equal; `{level: [2, 3]}`: one of)."""
    for name, wanted in (when or {}).items():
        value = values.get(name)
        if isinstance(wanted, list):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def missing(requirements: list[Requirement], values: Mapping[str, Any]) -> list[Requirement]:
    """The requirements that apply to these values and are not met, in order."""
    return [r for r in requirements if matches(r.when, values) and empty(values.get(r.field))]


def sla_hours(wf: Workflow, level: int | None) -> int | None:
    """The SLA of a case: the workflow's hours (per level for complaints), None without one."""
    if wf.sla_hours_by_level:
        return wf.sla_hours_by_level.get(level or 0) or max(wf.sla_hours_by_level.values())
    return wf.sla_hours


def form_fields(tr: TransitionDef) -> list[str]:
    """The fields a move's form asks for: the required ones, then the offered ones (each once)."""
    names = [r.field for r in tr.requires] + list(tr.asks)
    return list(dict.fromkeys(names))
