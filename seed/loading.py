"""Reading scenario files: YAML, schema, cross-checks; errors name the file, the path and the expectation."""

from __future__ import annotations

import difflib
import json
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .checks import check_scenario, volume_parts
from .schema import CHECK_KINDS, Scenario

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


class FileProblems(ValueError):
    """A data file (scenario, workflow) that cannot be used; `problems` are (path, message) pairs."""

    def __init__(self, filename: str, problems: list[tuple[str, str]]) -> None:
        self.filename = filename
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One `file: path: message` line per problem."""
        return [f"{self.filename}: {path}: {message}" if path else f"{self.filename}: {message}"
                for path, message in self.problems]


class ScenarioError(FileProblems):
    """A scenario file that cannot be used."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i and loc[i - 1] == "check" and part in CHECK_KINDS:
            continue  # the discriminated union's tag is not a key of the file
        else:
            out += f".{part}" if out else str(part)
    return out


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes an annotation may hold (through Annotated, Optional, list, dict, unions)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (list, tuple, dict, typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _unwrap(arg)]
    return [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model at `loc` accepts (for 'did you mean' on an unknown key)."""
    models: list[type[BaseModel]] = [Scenario]
    for part in loc:
        if part in CHECK_KINDS:
            models = [m for m in models if part in typing.get_args(getattr(m.model_fields.get("kind"), "annotation", None))]
            continue
        if isinstance(part, int):
            continue
        nxt = []
        for model in models:
            for name, info in model.model_fields.items():
                if part in (name, info.alias):
                    nxt += _unwrap(info.annotation)
        models = nxt or models
    return sorted({info.alias or name for m in models for name, info in m.model_fields.items()})


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


def _message(error: dict[str, Any]) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"][:-1])
        close = difflib.get_close_matches(str(error["loc"][-1]), allowed, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown field{hint}; expected one of: {', '.join(allowed)}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return f"expected kind to be one of {', '.join(CHECK_KINDS)}" + (f", got {_show(ctx.get('tag'))}"
                                                                        if kind == "union_tag_invalid" else "")
    expected = {
        "string_type": "text", "int_type": "an integer", "int_parsing": "an integer", "bool_type": "true or false",
        "bool_parsing": "true or false", "list_type": "a list", "dict_type": "a mapping (key: value)",
        "model_type": "a mapping (key: value)", "model_attributes_type": "a mapping (key: value)",
        "tuple_type": "a list", "float_type": "a number", "float_parsing": "a number",
        "string_pattern_mismatch": f"text matching {ctx.get('pattern')}",
        "literal_error": f"one of {ctx.get('expected')}",
        "too_short": f"at least {ctx.get('min_length')} item(s)",
    }.get(kind)
    message = f"expected {expected}" if expected else str(error["msg"])
    if kind == "too_short":
        return f"{message}, got {ctx.get('actual_length', 0)}"
    return f"{message}, got {_show(value)}"


def read_mapping(text: str, filename: str, error: type[FileProblems], what: str) -> dict[str, Any]:
    """The YAML mapping of a data file (duplicate keys refused); `error` names the file, the line and the column."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(filename, [(where, f"malformed YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise error(filename, [("", f"expected a mapping of {what} fields, got {_show(data)}")])
    return data


def parse_scenario(text: str, filename: str) -> Scenario:
    """A validated Scenario from YAML text; raises ScenarioError naming `filename`."""
    data = read_mapping(text, filename, ScenarioError, "scenario")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(filename, [(_path(e["loc"]), _message(e)) for e in exc.errors()]) from None
    problems = check_scenario(scenario)
    if problems:
        raise ScenarioError(filename, problems)
    return scenario


def describe(s: Scenario) -> str:
    """One line: titles, locale, objectives and points, volumes per student and per class."""
    v = s.volumes.per_student
    competitors = max(s.volumes.per_class.competitors, len(s.competitors))
    return (f"{s.title.zh} / {s.title.en}; {s.faker_locale}; {len(s.objectives)} objectives, {s.total_points} points; "
            f"per student {v.leads} leads, {v.accounts} accounts, {v.opportunities.count} opportunities, "
            f"{v.activities} activities (at most {sum(volume_parts(s).values()):,} records); "
            f"per class {len(s.products)} products, {competitors} competitors")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path.name, [("", f"cannot read the file: {exc}")]) from None
    return parse_scenario(text, path.name)


def scenario_files(directory: str | Path = SCENARIO_DIR) -> list[Path]:
    """The scenario files of a directory, by name (`NAME.yaml` is scenario NAME)."""
    folder = Path(directory)
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []


def find_scenario(name: str, directory: str | Path = SCENARIO_DIR) -> Scenario:
    """Load scenario NAME (the file stem) from `directory`."""
    for path in scenario_files(directory):
        if path.stem == name:
            return load_scenario(path)
    known = ", ".join(p.stem for p in scenario_files(directory)) or "none"
    raise ScenarioError(f"{name}.yaml", [("", f"no such scenario in {directory}; known: {known}")])
