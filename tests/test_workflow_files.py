"""Workflow files: the shipped ones load; malformed ones are refused with `file: path: expectation` lines,
by the loader and by `sandbox workflow validate PATH` (exit 1, problems on stderr)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sandbox.workflows import WorkflowError, load_folder, parse_workflow
from sandbox.workflows.cli import workflow
from sandbox.workflows.loading import WORKFLOW_DIR

GOOD = """\
key: tiny
name: {zh: 小, en: Tiny}
initial: new
sla_hours: 24
states:
  - {name: new, label: {zh: 新, en: New}}
  - {name: done, label: {zh: 完, en: Done}, locked: true, sets: [closed_at]}
transitions:
  - {from: new, to: done, label: {zh: 完成, en: Finish}, requires: [note]}
fields:
  note: {kind: text, label: {zh: 备注, en: Note}}
"""


def problems(text: str, name: str = "tiny.yaml") -> list[str]:
    """The lines of the refusal of a workflow text."""
    with pytest.raises(WorkflowError) as error:
        parse_workflow(text, name)
    return error.value.lines()


def test_shipped_workflows_load() -> None:
    loaded = load_folder(WORKFLOW_DIR)
    assert sorted(loaded) == ["complaint", "feedback", "info_flow", "repair_order", "service_request", "suggestion",
                              "visit_order"]
    assert loaded["complaint"].sla_hours_by_level == {1: 24, 2: 48, 3: 72, 4: 120, 5: 120}
    assert parse_workflow(GOOD, "tiny.yaml").key == "tiny"


@pytest.mark.parametrize(("change", "expected"), [
    (("to: done, label: {zh: 完成", "to: gone, label: {zh: 完成"),
     "tiny.yaml: transitions[0].to: expected one of the states (new, done), got 'gone'"),
    (("{from: new,", "{from: nowhere,"),
     "tiny.yaml: transitions[0].from: expected one of the states (new, done), got 'nowhere'"),
    (("requires: [note]", "requires: [notes]"),
     "tiny.yaml: transitions[0].requires[0].field: expected a built-in or declared field"),
    (("initial: new", "initial: start"), "tiny.yaml: initial: expected one of the states (new, done), got 'start'"),
    (("key: tiny", "key: other"), "tiny.yaml: key: expected the file's name 'tiny', got 'other'"),
    (("sla_hours: 24", "sla_hours: -3"), "tiny.yaml: sla_hours: expected a whole number of hours"),
    (("locked: true", "locked: true, colour: red"), "tiny.yaml: states[1].colour: unknown field 'colour'"),
    (("sets: [closed_at]", "sets: [closed]"), "tiny.yaml: states[1].sets[0]: expected a timestamp name ending in _at"),
    (("  note: {kind: text,", "  level: {kind: text,"), "tiny.yaml: fields.level: expected a name that is not a built-in"),
    (("name: {zh: 小, en: Tiny}", "name: {zh: 小}"), "tiny.yaml: name.en: required field is missing"),
])
def test_malformed_files_name_file_path_and_expectation(change: tuple[str, str], expected: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    assert any(line.startswith(expected) for line in problems(text)), problems(text)


def test_unreachable_state_and_locked_state_with_a_way_out() -> None:
    text = GOOD.replace("transitions:\n", "transitions:\n  - {from: lost, to: new, label: {zh: x, en: x}}\n"
                                           "  - {from: done, to: new, label: {zh: 回, en: Back}}\n")
    text = text.replace("states:\n", "states:\n  - {name: lost, label: {zh: 丢, en: Lost}}\n")
    lines = problems(text)
    assert "tiny.yaml: states[0]: expected a state reachable from 'new', got 'lost' that no move leads to" in lines
    assert any(line.startswith("tiny.yaml: transitions[1].from: expected a state that is not locked") for line in lines)


def test_malformed_yaml_and_not_a_mapping() -> None:
    assert problems("key: [unclosed")[0].startswith("tiny.yaml: line 1, column")
    assert problems("- just\n- a list\n") == ["tiny.yaml: expected a mapping of workflow fields, got [\"just\", \"a list\"]"]
    assert "duplicate key 'key'" in problems(GOOD + "key: again\n")[0]


def test_cli_validates_files_and_folders(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(workflow, ["validate", str(WORKFLOW_DIR)])
    assert result.exit_code == 0 and "complaint.yaml: OK: 投诉单 / Complaint" in result.output
    (tmp_path / "tiny.yaml").write_text(GOOD.replace("requires: [note]", "requires: [nope]"), encoding="utf-8")
    (tmp_path / "fine.yaml").write_text(GOOD.replace("key: tiny", "key: fine"), encoding="utf-8")
    result = runner.invoke(workflow, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "tiny.yaml: transitions[0].requires[0].field: expected a built-in or declared field" in result.stderr
    assert "fine.yaml: OK" in result.stdout
    result = runner.invoke(workflow, ["validate", str(tmp_path / "tiny.yaml")])
    assert result.exit_code == 1 and result.stdout == ""
