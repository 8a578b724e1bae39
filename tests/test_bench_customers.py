"""The customer analytics measure of `sandbox bench` (bench/customers.py) runs and reports well-formed figures;
timings are never asserted."""

from __future__ import annotations

import pytest

from bench import customers
from bench.runner import Measure


def test_quick_customers_measure() -> None:
    said: list[str] = []
    measures, table = customers.run(Measure, quick=True, say=said.append)
    [measure] = measures
    assert measure.name == "customers.rfm_instructor" and measure.unit == "ms"
    assert measure.value > 0 and measure.baseline > 0
    assert measure.ratio == pytest.approx(measure.baseline / measure.value, rel=0.01, abs=0.001)
    assert "1,000 accounts, 5,000 opportunities" in table
    assert any("accounts" in line for line in said)
