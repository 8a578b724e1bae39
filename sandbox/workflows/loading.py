"""Reading workflow files: YAML, schema, cross-checks; errors name the file, the path and the expectation.

The checks beyond the schema: the key is the file's name, every state named in the initial state,
transitions and notifications exists, no move is written twice, a locked state has no way out, every
state can be reached from the initial one, and every field named is a built-in or a declared field.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from seed.loading import FileProblems, _message, _path, _show, read_mapping  # the scenario files' reader, shared

from .schema import BUILTIN_FIELDS, NAME, Workflow

WORKFLOW_DIR = Path(__file__).resolve().parent.parent.parent / "workflows"


class WorkflowError(FileProblems):
    """A workflow file that cannot be used; `problems` are (path, message) pairs, one line each."""


def _fields_named(wf: Workflow) -> list[tuple[str, str]]:
    """(path, field name) of every field the definition names outside `fields`."""
    named: list[tuple[str, str]] = []
    for part, spec in (("create", wf.create),):
        named += [(f"{part}.requires[{i}].field", r.field) for i, r in enumerate(spec.requires)]
        named += [(f"{part}.requires[{i}].when.{k}", k) for i, r in enumerate(spec.requires) for k in (r.when or {})]
        named += [(f"{part}.asks[{i}]", f) for i, f in enumerate(spec.asks)]
    for t, tr in enumerate(wf.transitions):
        named += [(f"transitions[{t}].requires[{i}].field", r.field) for i, r in enumerate(tr.requires)]
        named += [(f"transitions[{t}].requires[{i}].when.{k}", k)
                  for i, r in enumerate(tr.requires) for k in (r.when or {})]
        named += [(f"transitions[{t}].asks[{i}]", f) for i, f in enumerate(tr.asks)]
    for n, note in enumerate(wf.notifications):
        if note.field:
            named.append((f"notifications[{n}].field", note.field))
        named += [(f"notifications[{n}].when.{k}", k) for k in (note.when or {})]
    return named


def check_workflow(wf: Workflow, stem: str | None = None) -> list[tuple[str, str]]:
    """The cross-reference problems of a schema-valid definition, as (path, expectation) pairs."""
    problems: list[tuple[str, str]] = []
    if stem is not None and wf.key != stem:
        problems.append(("key", f"expected the file's name {stem!r}, got {wf.key!r}"))
    if wf.sla_hours is not None and wf.sla_hours_by_level is not None:
        problems.append(("sla_hours_by_level", "expected either sla_hours or sla_hours_by_level, not both"))
    return problems + _check_states(wf) + _check_moves(wf) + _check_fields(wf)


def _check_states(wf: Workflow) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    names = [s.name for s in wf.states]
    for i, name in enumerate(names):
        if name in names[:i]:
            problems.append((f"states[{i}].name", f"expected a state name used once, got {name!r} again"))
    if wf.initial not in names:
        problems.append(("initial", f"expected one of the states ({', '.join(names)}), got {wf.initial!r}"))
        return problems
    reached = _reachable(wf.initial, {(f, t.to) for t in wf.transitions for f in t.from_})
    for i, name in enumerate(names):
        if name not in reached:
            problems.append((f"states[{i}]", f"expected a state reachable from {wf.initial!r}, "
                                             f"got {name!r} that no move leads to"))
    for n, note in enumerate(wf.notifications):
        if "enter" in note.events and (note.state is None or note.state not in names):
            problems.append((f"notifications[{n}].state", f"expected one of the states ({', '.join(names)}) for "
                                                          f"events: enter, got {_show(note.state)}"))
    return problems


def _check_moves(wf: Workflow) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    known = [s.name for s in wf.states]
    shown = ", ".join(known)
    locked = {s.name for s in wf.states if s.locked}
    edges: dict[tuple[str, str], int] = {}
    for t, tr in enumerate(wf.transitions):
        if tr.to not in known:
            problems.append((f"transitions[{t}].to", f"expected one of the states ({shown}), got {tr.to!r}"))
        for i, source in enumerate(tr.from_):
            where = f"transitions[{t}].from[{i}]" if len(tr.from_) > 1 else f"transitions[{t}].from"
            if source not in known:
                problems.append((where, f"expected one of the states ({shown}), got {source!r}"))
            elif source in locked:
                problems.append((where, f"expected a state that is not locked (a locked state has no way out), "
                                        f"got {source!r}"))
            if source == tr.to:
                problems.append((where, f"expected a move to another state, got {source!r} → {tr.to!r}"))
            if (source, tr.to) in edges:
                problems.append((where, f"expected each move once, got {source!r} → {tr.to!r} again "
                                        f"(first in transitions[{edges[(source, tr.to)]}])"))
            edges.setdefault((source, tr.to), t)
        if tr.satisfaction and "satisfaction" in tr.asks:
            problems.append((f"transitions[{t}].asks", "expected satisfaction: true rather than asking for it"))
    return problems


def _check_fields(wf: Workflow) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    for name, spec in wf.fields.items():
        if name in BUILTIN_FIELDS:
            problems.append((f"fields.{name}", f"expected a name that is not a built-in field, got {name!r}"))
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            problems.append((f"fields.{name}.max", f"expected a maximum of at least {spec.min}, got {spec.max}"))
    for path, field in _fields_named(wf):
        if not NAME.match(field) or wf.field_kind(field) is None:
            declared = ", ".join([*BUILTIN_FIELDS, *wf.fields])
            problems.append((path, f"expected a built-in or declared field ({declared}), got {field!r}"))
    for n, note in enumerate(wf.notifications):
        if "change" in note.events and note.field is None:
            problems.append((f"notifications[{n}].field", "expected the field whose change notifies (events: change)"))
    return problems


def _reachable(initial: str, edges: set[tuple[str, str]]) -> set[str]:
    seen, todo = {initial}, deque([initial])
    while todo:
        here = todo.popleft()
        for source, dest in edges:
            if source == here and dest not in seen:
                seen.add(dest)
                todo.append(dest)
    return seen


def parse_workflow(text: str, filename: str) -> Workflow:
    """A validated Workflow from YAML text; raises WorkflowError naming `filename`."""
    data = read_mapping(text, filename, WorkflowError, "workflow")
    try:
        wf = Workflow.model_validate(data)
    except ValidationError as exc:
        raise WorkflowError(filename, [(_path(e["loc"]).replace("from_", "from"), _workflow_message(e))
                                       for e in exc.errors()]) from None
    problems = check_workflow(wf, Path(filename).stem if filename.endswith((".yaml", ".yml")) else None)
    if problems:
        raise WorkflowError(filename, problems)
    return wf


def _workflow_message(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden":  # the scenario reader's hint lists the scenario's keys
        return f"unknown field {error['loc'][-1]!r}"
    return _message(error)


def load_workflow(path: str | Path) -> Workflow:
    """Read and validate one workflow file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(path.name, [("", f"cannot read the file: {exc}")]) from None
    return parse_workflow(text, path.name)


def workflow_files(folder: str | Path) -> list[Path]:
    """The workflow files of a folder, by name."""
    folder = Path(folder)
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def load_folder(folder: str | Path) -> dict[str, Workflow]:
    """Every workflow of a folder by key; WorkflowError listing the problems of every bad file."""
    found: dict[str, Workflow] = {}
    errors: list[WorkflowError] = []
    for path in workflow_files(folder):
        try:
            wf = load_workflow(path)
        except WorkflowError as exc:
            errors.append(exc)
            continue
        found[wf.key] = wf
    if errors:
        raise WorkflowError(errors[0].filename, [p for e in errors for p in e.problems]) if len(errors) == 1 \
            else _Many(errors)
    return found


class _Many(WorkflowError):
    """Problems of several files at once (each line still names its own file)."""

    def __init__(self, errors: list[WorkflowError]) -> None:
        self.errors = errors
        super().__init__(errors[0].filename, [p for e in errors for p in e.problems])

    def lines(self) -> list[str]:
        """Every file's lines."""
        return [line for e in getattr(self, "errors", []) for line in e.lines()]
