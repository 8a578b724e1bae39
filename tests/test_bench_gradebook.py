"""The gradebook measure of `sandbox bench` (bench/gradebook.py) runs and reports well-formed figures; timings are
never asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import gradebook
from bench.runner import Measure


def test_quick_gradebook_measure(tmp_path: Path) -> None:
    said: list[str] = []
    measure, table = gradebook.run(tmp_path, Measure, quick=True, say=said.append)
    assert measure.name == "gradebook" and measure.unit == "ms"
    assert measure.value > 0 and measure.baseline > 0
    assert measure.ratio == pytest.approx(measure.baseline / measure.value, rel=0.01, abs=0.001)  # ratios are rounded to 3 places
    assert "200 students × 10 objectives" in table and f"{gradebook.QUICK_ENTRIES:,} log entries" in table
    assert any("data ready" in line for line in said)


def test_bench_scenario_has_ten_objectives() -> None:
    from seed import parse_scenario

    scenario = parse_scenario(gradebook.scenario_text(), "sales-basics.yaml")
    kinds = [o.check.kind for o in scenario.objectives]
    assert len(kinds) == 10 and {"log_count", "record_count", "sequence"} <= set(kinds)
