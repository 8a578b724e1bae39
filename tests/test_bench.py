"""`sandbox bench` runs end to end and reports well-formed measures (timings are never asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox import create_app

KEYS = {"name", "value", "unit", "baseline", "ratio"}
VIEWERS = {"leads_list.student", "leads_list.manager", "leads_list.instructor"}
# bench/workbench.py: the other list pages per viewer and the opportunity page.
WORKBENCH = {f"{kind}_list_{viewer}" for kind in ("accounts", "contacts", "opportunities")
             for viewer in ("instructor", "student")} | {"opportunity_detail"}


def _cli_app(tmp_path: Path):
    # The command builds its own database; this app only hosts the CLI.
    return create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'cli.db'}"})


def test_bench_quick_json_lines(tmp_path: Path) -> None:
    result = _cli_app(tmp_path).test_cli_runner().invoke(args=["bench", "--json", "--quick"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    measures = [json.loads(line) for line in lines]  # every stdout line is one JSON object
    assert VIEWERS <= {m["name"] for m in measures}
    assert WORKBENCH <= {m["name"] for m in measures}
    assert {"reset.class_10", "reset.insert_10", "gradebook"} <= {m["name"] for m in measures}
    for m in measures:
        assert set(m) == KEYS
        assert m["value"] > 0 and m["baseline"] > 0 and m["ratio"] > 0
        if m["unit"] in ("ms", "s"):  # a time: lower is better, ratio = baseline ÷ value
            assert m["ratio"] == pytest.approx(m["baseline"] / m["value"], rel=0.01, abs=0.001)  # ratios are rounded to 3 places
        else:  # a rate: higher is better, ratio = value ÷ baseline
            assert m["unit"] == "rows/s"
            assert m["ratio"] == pytest.approx(m["value"] / m["baseline"], rel=0.01, abs=0.001)  # ratios are rounded to 3 places


def test_baseline_routes_only_when_enabled(tmp_path: Path) -> None:
    assert not any(rule.endpoint.startswith("bench.") for rule in _cli_app(tmp_path).url_map.iter_rules())
    enabled = create_app({"TESTING": True, "SECRET_KEY": "test", "BENCH_ROUTES": True,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'cli.db'}"})
    assert "bench.leads" in enabled.view_functions
    assert {"bench.accounts", "bench.contacts", "bench.opportunities", "bench.record_detail"} <= set(
        enabled.view_functions)
