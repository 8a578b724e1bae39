"""Workflow definitions kept as data (workflows/*.yaml): schema, loading with checks, and the engine.

`schema` and `loading` are plain Python (no Flask, no database), like `seed/`: the CLI validates files
with them, and the tests read them. `engine` answers the questions the case services ask (which moves
leave a state, what a move requires, what it stamps, who is notified) from a loaded definition.
"""

from .loading import WorkflowError, load_folder, load_workflow, parse_workflow
from .schema import BUILTIN_FIELDS, Workflow

__all__ = ["BUILTIN_FIELDS", "Workflow", "WorkflowError", "load_folder", "load_workflow", "parse_workflow"]
