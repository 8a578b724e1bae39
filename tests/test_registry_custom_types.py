"""Opportunities, activities and products are registry entries like leads: their pages are routes over the entry,
activities find related models in the registry, and the activity's "related" field has one label everywhere."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Blueprint
from flask_babel import force_locale

from sandbox.activities import services as activity_services
from sandbox.activities.forms import ActivityForm
from sandbox.activities.models import Activity
from sandbox.classroom.objectives.checks import field_label as objective_field_label
from sandbox.leads.models import Lead
from sandbox.opportunities.models import Opportunity
from sandbox.products.models import Product
from sandbox.records import registry
from sandbox.records.views import RecordViews
from sandbox.route_access import GENERIC_RECORD_PAGES, ROUTES, Access, record_blueprints
from tests.test_activities import make_activity

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("name", "model", "blueprint"), [
    ("opportunity", Opportunity, "opportunities"), ("activity", Activity, "activities"), ("product", Product, "products"),
])
def test_custom_types_are_registry_entries_their_pages_route_over(app, name, model, blueprint):
    """Each type's entry lives in its `record.py`, and its views (a subclass of the generic ones) take that entry."""
    import importlib

    entry = getattr(importlib.import_module(f"sandbox.{blueprint}.record"), name.upper())
    views = importlib.import_module(f"sandbox.{blueprint}.routes").views
    assert registry.get(name) is entry and registry.get(blueprint) is entry
    assert entry.model is model and entry.blueprint == blueprint
    assert views.record_type is entry and views.model is model and views.form_fields == entry.fields
    assert type(views) is not RecordViews and isinstance(views, RecordViews)
    # The type's own services and detail page, as before the move.
    assert entry.create_service is not registry.services.create_record
    assert entry.detail_template == f"{blueprint}/detail.html"


def test_opportunity_detail_shows_probability_with_its_label(app):
    """The opportunity's detail fields put the probability after the stage, labelled as on the list."""
    entry = registry.get("opportunity")
    assert entry.detail_fields[3:5] == ["stage", "probability"] and "probability" not in entry.fields
    with app.test_request_context():
        assert entry.field_label("probability") == "Probability (%)"


def test_views_take_only_a_registry_entry(app):
    """The keyword form `RecordViews(bp, Model, Form, ...)` is gone: a type is described once, in the registry."""
    bp = Blueprint("widgets", __name__)
    with pytest.raises(TypeError):
        RecordViews(bp, Activity, ActivityForm, singular="Widget")  # type: ignore[call-arg]


def test_related_model_comes_from_the_registry(app, monkeypatch):
    """Which model a related type is: the registry's answer; types activities cannot relate to get None."""
    assert activity_services.related_model("lead") is Lead
    assert activity_services.related_model("opportunity") is Opportunity
    # Registered, but not something an activity is about; unknown; the blueprint name; nothing.
    for kind in ("product", "competitor", "activity", "widget", "leads", "", None):
        assert activity_services.related_model(kind) is None, kind
    # The registry is the answer: a lead entry pointing elsewhere moves the answer with it.
    moved = dataclasses.replace(registry.get("lead"), model=Opportunity)
    monkeypatch.setitem(registry._TYPES, "lead", moved)
    assert activity_services.related_model("lead") is Opportunity


def test_related_field_is_labelled_related_to_everywhere(app, classroom, make_lead):
    """The log and the objectives read the label the activity page shows, in both languages."""
    with app.test_request_context():
        assert registry.field_label("activity", "related") == "Related to"
        assert objective_field_label("activity", "related") == "Related to"
        with force_locale("zh_Hans_CN"):
            assert registry.field_label("activity", "related") == "相关对象"
            assert objective_field_label("activity", "related") == "相关对象"
    lead = make_lead(classroom.user("studentA"), name="Labelled Lead")
    task = make_activity(classroom.user("studentA"), subject="About it", related_type="lead", related_id=lead.id)
    client = classroom.client_for(app, "studentA")
    page = client.get(f"/activities/{task.id}").get_data(as_text=True)
    assert "Related to" in page and "Labelled Lead" in page
    page = client.get(f"/activities/{task.id}?lang=zh_Hans_CN").get_data(as_text=True)
    assert "相关对象" in page


def test_route_access_takes_the_record_blueprints_from_the_registry(app, monkeypatch):
    """Every registered type's generic pages are classified; a type registered later gets them too, none stale."""
    assert record_blueprints() == {t.blueprint: t.name for t in registry.all_types()}
    assert {"opportunities", "activities", "products", "leads"} <= set(record_blueprints())
    assert ROUTES["opportunities.edit"] == Access("record", "opportunity", True)
    assert ROUTES["activities.index"] == Access("signed_in")
    assert ROUTES["products.new"] == Access("staff")  # instructors' work, over the generic "changer"
    assert ROUTES["opportunities.line_add"] == Access("record", "opportunity", True)
    widget = dataclasses.replace(registry.get("product"), name="widget", blueprint="widgets")
    monkeypatch.setitem(registry._TYPES, "widget", widget)
    assert ROUTES["widgets.detail"] == Access("record", "widget", False)
    assert {f"widgets.{view}" for view in GENERIC_RECORD_PAGES} <= set(ROUTES)
    monkeypatch.delitem(registry._TYPES, "widget")
    assert "widgets.detail" not in ROUTES and ROUTES.get("widgets.index") is None


def test_route_access_loads_without_views():
    """The route declaration reads the registry without importing any page module."""
    code = ("import sys\n"
            "import sandbox.route_access\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('sandbox') and m.endswith(('views', 'routes')))\n"
            "print(loaded)\n"
            "assert not loaded\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", [
    "sandbox/opportunities/routes.py", "sandbox/opportunities/record.py", "sandbox/activities/routes.py",
    "sandbox/activities/record.py", "sandbox/products/routes.py", "sandbox/products/record.py",
])
def test_custom_type_pages_leave_the_transaction_to_the_boundary(path):
    """No page or entry of these types commits or rolls back: the request boundary does, once per request."""
    import ast

    calls = {node.func.attr for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    assert not calls & {"commit", "rollback"}, path
