"""Pure scenario handling: the file schema and its validation, and deterministic data generation (no DB, no Flask)."""

from .generate import TABLE_ORDER, generate, generate_parts, part_count, student_seed
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
           "generate_parts", "load_scenario", "part_count", "parse_scenario", "scenario_files", "student_seed"]
