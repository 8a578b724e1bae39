"""The calendar measure of `sandbox bench` (bench/calendar.py) runs, compares the same JSON and reports
well-formed figures; timings are never asserted."""

from __future__ import annotations

import pytest

from bench import calendar as calendar_bench
from bench.runner import Measure


def test_quick_calendar_measure() -> None:
    said: list[str] = []
    measures, table = calendar_bench.run(Measure, quick=True, say=said.append)
    assert [m.name for m in measures] == ["calendar.month_student", "calendar.month_department"]
    for m in measures:
        assert m.unit == "ms" and m.value > 0 and m.baseline > 0
        assert m.ratio == pytest.approx(m.baseline / m.value, rel=0.01, abs=0.001)  # ratios are rounded to 3 places
    assert "2,000" in table and "target ≥ 0.4" in table
    assert any("student: 2000 events" in line for line in said)
    assert any("department: 2000 events" in line for line in said)
