"""Pure scenario handling: the file schema and its validation, and deterministic data generation (no DB, no Flask)."""

from .generate import TABLE_ORDER, generate, student_seed
from .loading import (
    SCENARIO_DIR,
    ScenarioError,
    describe,
    find_scenario,
    load_scenario,
    parse_scenario,
    scenario_files,
)
from .schema import Scenario

__all__ = ["SCENARIO_DIR", "TABLE_ORDER", "Scenario", "ScenarioError", "describe", "find_scenario", "generate",
           "load_scenario", "parse_scenario", "scenario_files", "student_seed"]
