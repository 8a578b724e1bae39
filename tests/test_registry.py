"""The record-type registry: the one answer to "which model", "which label", "which fields import accepts"."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from sandbox.accounts.models import Account
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.records import import_columns, importing, registry
from sandbox.records.import_aliases import IGNORE
from tests.conftest import act_as

ROOT = Path(__file__).resolve().parent.parent
VIEW_MODULES = ("sandbox.records.views", "sandbox.records.import_views", "sandbox.records.note_views",
                "sandbox.records.extras")


def test_lookup_by_type_name_and_blueprint(app):
    """"lead" (and its blueprint "leads") is the Lead model, with the lead's form and services."""
    lead = registry.get("lead")
    assert lead.model is Lead and registry.get("leads") is lead
    assert registry.model_of("account") is Account
    assert lead.blueprint == "leads" and lead.name == Lead.__audit_type__
    assert {t.name for t in registry.all_types()} >= {"lead", "account", "contact", "competitor"}
    # The pages are routes over that very entry.
    from sandbox.leads.routes import views

    assert views.record_type is lead and views.model is Lead and views.form_fields == lead.fields


def test_unknown_type_fails_clearly(app):
    """An unknown name raises an error naming it and the known types; `find` answers None."""
    with pytest.raises(registry.UnknownRecordType) as caught:
        registry.get("widget")
    message = str(caught.value)
    assert "'widget'" in message and "lead" in message and "account" in message
    assert registry.find("widget") is None and registry.find(None) is None
    # The objectives ask the registry too: an unknown type is a KeyError there (effects.py relies on it).
    from sandbox.classroom.objectives.records import record_model

    with pytest.raises(KeyError):
        record_model("widget")
    assert record_model("lead") is Lead


def test_field_labels_in_both_languages(app):
    """A field's label is its form's label, in the reader's language; an unknown field reads as itself."""
    with app.test_request_context():
        with force_locale("zh_Hans_CN"):
            assert registry.field_label("lead", "company") == "公司"
            assert registry.field_label("lead", "annual_revenue") == "年营业额"
        with force_locale("en"):
            assert registry.field_label("lead", "company") == "Company"
            assert registry.field_label("lead", "annual_revenue") == "Annual revenue"
        assert registry.field_label("lead", "no_such_field") == "no_such_field"
        assert registry.field_label("widget", "company") == "company"
    # Outside any request (the CLI, jobs) the labels read in the configured default language.
    with app.app_context():
        assert registry.field_label("lead", "company") in ("Company", "公司")


def test_log_and_objectives_read_labels_from_the_registry(app):
    """The log renderer and the objectives name a field as the registry does."""
    from sandbox.classroom.objectives.checks import field_label as objective_label
    from sandbox.log.render import _field_label, type_label

    with app.test_request_context(), force_locale("en"):
        assert _field_label("lead", "annual_revenue") == registry.field_label("lead", "annual_revenue")
        assert objective_label("lead", "annual_revenue") == "Annual revenue"
        assert type_label("competitor") == "Competitor"


@pytest.mark.parametrize("name", ["lead", "account", "contact", "competitor"])
def test_import_accepts_exactly_the_registry_fields(app, name):
    """Import columns, the CLI's targets and the header map cover the type's fields and nothing else."""
    rt = registry.get(name)
    with app.test_request_context():
        assert [c["name"] for c in importing.column_help(rt)] == rt.import_fields == rt.fields
        targets = [t for t, _label in import_columns.targets(rt) if t != IGNORE]
        assert [t for t in targets if ":" not in t] == rt.fields
        assert {t.split(":", 1)[0] for t in targets} == set(rt.fields)
        assert set(importing.header_map(rt).values()) <= {*rt.fields, importing.IGNORED}
        assert set(importing.required_fields(rt)) <= set(rt.fields)


def test_import_refuses_a_column_the_registry_does_not_accept(app, classroom):
    """A lead column that is not a form field (the conversion links) is an unknown column, not imported."""
    act_as(classroom.user("studentA"))
    with app.test_request_context():
        data = b"name,converted_account_id\nA,1\n"
        with pytest.raises(importing.ColumnsNeeded) as caught:
            importing.parse(registry.get("lead"), data, "x.csv")
    assert caught.value.unknown == ["converted_account_id"]
    act_as(None)


def test_cli_import_needs_no_request(app, classroom, tmp_path, monkeypatch):
    """`sandbox import` runs in the command's app context only: no (fake) request is made."""

    def no_request(*args, **kwargs):
        raise AssertionError("the CLI import made a request context")

    monkeypatch.setattr(Flask, "test_request_context", no_request)
    file = tmp_path / "leads.csv"
    file.write_text("name,company,status\nNo Request,Terminal Co,Qualified\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "lead", str(file), "--user", "studentA"])
    act_as(None)
    assert result.exit_code == 0, result.output + result.stderr
    assert "1 of 1 rows imported" in result.stdout
    lead = db.session.scalars(select(Lead).where(Lead.name == "No Request")
                              .execution_options(skip_visibility=True)).one()
    assert lead.status == "qualified" and lead.owner.username == "studentA"


def test_cli_unknown_type_names_the_registry_types(app, classroom, tmp_path):
    """An unknown type on the command line exits non-zero naming the types the registry knows."""
    file = tmp_path / "x.csv"
    file.write_text("name\nA\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", "widgets", str(file), "--user", "studentA"])
    act_as(None)
    assert result.exit_code != 0
    assert "unknown record type 'widgets'" in result.stderr and "lead" in result.stderr


def _imports(path: Path) -> set[str]:
    """The modules a source file imports (relative imports resolved within `sandbox.records`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = "sandbox.records" if node.level == 1 else ("sandbox" if node.level == 2 else "")
            module = ".".join(x for x in (base, node.module or "") if x)
            found.add(module)
            found.update(f"{module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("module", ["exporting", "registry", "importing", "import_service", "import_cli",
                                    "import_columns", "display"])
def test_no_view_imports_in_data_modules(module):
    """Export, import, the CLI and the registry import no view module (not even inside a function)."""
    imported = _imports(ROOT / "sandbox" / "records" / f"{module}.py")
    assert not imported & set(VIEW_MODULES), sorted(imported & set(VIEW_MODULES))


def test_registry_export_and_import_load_without_views():
    """Importing the registry, export, import and the CLI importer loads no view module at all."""
    code = ("import sys\n"
            "import sandbox.records.registry, sandbox.records.exporting, sandbox.records.importing\n"
            "import sandbox.records.import_service, sandbox.records.import_cli\n"
            f"loaded = sorted(m for m in {VIEW_MODULES!r} if m in sys.modules)\n"
            "print(loaded)\n"
            "assert not loaded\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", [
    "sandbox/records/views.py", "sandbox/records/import_views.py", "sandbox/records/note_views.py",
    "sandbox/records/exporting.py", "sandbox/records/extras.py", "sandbox/leads/routes.py",
    "sandbox/leads/convert_views.py", "sandbox/accounts/routes.py", "sandbox/contacts/routes.py",
    "sandbox/competitors/routes.py",
])
def test_record_pages_leave_the_transaction_to_the_boundary(path):
    """No record page commits or rolls back: the request boundary does, once per request."""
    calls = {node.func.attr for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    assert not calls & {"commit", "rollback"}, path
