"""The architecture page lives in the repository, the README points at it, and the files it names exist;
docs/ROUTES.md lists every route with its view and who may open it, and is regenerated when routes change."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from sandbox import routes_doc
from sandbox.route_access import ROUTES

ROOT = Path(__file__).resolve().parents[1]


def test_readme_points_at_the_architecture_page_in_the_repository():
    """The README links the architecture page inside the repository."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/ARCHITECTURE.md" in readme and "../shared/" not in readme
    assert (ROOT / "docs" / "ARCHITECTURE.md").is_file()


def test_every_path_the_architecture_page_names_exists():
    """Every path and module the architecture page names exists."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:sandbox|seed|bench|tests|templates|migrations|scenarios)/[\w./]*)`", text))
    # Module names given relative to their package in the same sentence (`records/extras.py`).
    named |= {f"sandbox/{p}" for p in re.findall(r"`((?:records|classroom|org)/[\w.]+\.py)`", text)}
    assert len(named) > 10
    missing = sorted(p for p in named if not (ROOT / p.rstrip("/")).exists())
    assert missing == []
    for module in re.findall(r"`(\w+\.py)`", text):
        assert list(ROOT.glob(f"sandbox/**/{module}")) or list(ROOT.glob(f"seed/{module}")), module


def _resolve(name: str) -> Any:
    """The object a `module:qualified.name` names (nested functions, whose qualname has `<locals>`, excepted)."""
    module, _colon, qualname = name.partition(":")
    if "<locals>" in qualname:
        return None
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    target = inspect.unwrap(target)  # the module may hold it decorated (a rate limit), as the app does
    return getattr(target, "__func__", target)


def _function(view: Any) -> Any:
    """The view function itself, or None when it is defined inside another function (not importable)."""
    function = inspect.unwrap(view)
    function = getattr(function, "__func__", function)
    return None if "<locals>" in function.__qualname__ else function


def test_routes_page_is_up_to_date():
    """docs/ROUTES.md is what the generator writes for today's routes (else: the command to run)."""
    problem = routes_doc.stale((ROOT / "docs" / "ROUTES.md").read_text(encoding="utf-8"), routes_doc.documented_app())
    assert problem is None, problem


def test_a_stale_routes_page_fails_naming_the_command():
    """A page that differs from the generator's output fails, naming the command that regenerates it."""
    app = routes_doc.documented_app()
    current = routes_doc.render(app)
    first_row = next(line for line in current.splitlines() if line.startswith("| `/"))
    problem = routes_doc.stale(current.replace(first_row + "\n", ""), app)
    assert problem is not None
    assert ".venv/bin/python -m sandbox.routes_doc > docs/ROUTES.md" in problem and f"missing: {first_row}" in problem
    problem = routes_doc.stale(current + "| `/gone` | GET | `gone` | `x:y` | anyone |\n", app)
    assert problem is not None and "stale:   | `/gone`" in problem


def test_routes_page_names_each_rule_its_view_and_who_may_open_it():
    """Every URL rule is one row: its methods, endpoint, the view function behind the request boundary's wrapper
    and the permission declared for the route × role matrix."""
    app = routes_doc.documented_app()
    rows = {(row.rule, row.endpoint): row for row in routes_doc.route_rows(app)}
    rules = list(app.url_map.iter_rules())
    assert len(rows) == len(rules) > 100
    for rule in rules:
        row = rows[(rule.rule, rule.endpoint)]
        assert row.permission == routes_doc.describe(ROUTES[rule.endpoint]), rule.endpoint
        assert set(row.methods.split(", ")) == set(rule.methods) - {"HEAD", "OPTIONS"}
        assert not row.view.startswith("sandbox.boundary:"), f"{rule.endpoint}: the wrapper, not the view"
        assert _resolve(row.view) is _function(app.view_functions[rule.endpoint]), f"{rule.endpoint}: {row.view}"
    edit = rows[("/leads/<int:record_id>/edit", "leads.edit")]
    assert edit.view.endswith(".edit")
    assert edit.permission == "who may change the lead (cannot read it: 404, may read only: 403)"
    assert rows[("/healthz", "health")].permission == "anyone, signed in or not"
    assert rows[("/admin/organization", "admin.organization")].permission == "administrators"
    assert rows[("/admin/organization", "admin.organization")].view.endswith(":organization")


def test_an_unclassified_route_is_shown_as_such():
    """A route nobody classified shows as UNCLASSIFIED in the page."""
    app = routes_doc.documented_app()
    app.add_url_rule("/unclassified-page", "unclassified_page", lambda: "hi")
    row = next(r for r in routes_doc.route_rows(app) if r.endpoint == "unclassified_page")
    assert row.permission.startswith("UNCLASSIFIED") and row.view.endswith("<lambda>")
