"""The knowledge measure of `sandbox bench` (bench/knowledge.py) runs, renders the same rows from memory and
reports well-formed figures; timings are never asserted."""

from __future__ import annotations

import pytest

from bench import knowledge as knowledge_bench
from bench.runner import Measure


def test_quick_knowledge_measure() -> None:
    said: list[str] = []
    measures, table = knowledge_bench.run(Measure, quick=True, say=said.append)
    assert [m.name for m in measures] == ["knowledge.student_list", "knowledge.student_search"]
    for m in measures:
        assert m.unit == "ms" and m.value > 0 and m.baseline > 0
        assert m.ratio == pytest.approx(m.baseline / m.value, rel=0.01, abs=0.001)
    # 4,000 articles, three in four published: the student reads 3,000, and 200 of them mention "valve".
    assert "4,000 articles" in table and "target ≥ 0.4" in table
    assert any("list: 3000 visible" in line for line in said)
    assert any("search: 200 visible" in line for line in said)
