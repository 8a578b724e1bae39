"""Column mapping outside the web: the CLI's messages and --map, composed names and addresses, alias data."""

from __future__ import annotations

import pytest
from flask_babel import refresh
from sqlalchemy import select

from sandbox.codes.defaults import DEFAULTS
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.records import import_columns, registry
from sandbox.records.import_aliases import HEADER_ALIASES, VALUE_ALIASES
from tests.conftest import act_as
from tests.test_import_sources import SALESFORCE_HEADER, SALESFORCE_ROWS, UNKNOWN, _salesforce_xlsx


def leads() -> list[Lead]:
    return list(db.session.scalars(select(Lead).order_by(Lead.id).execution_options(skip_visibility=True)))


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=["import", *args])
    act_as(None)
    return result


def test_cli_names_the_known_columns_and_takes_map_options(app, classroom, tmp_path):
    partner = tmp_path / "partner.csv"
    partner.write_text(UNKNOWN, encoding="utf-8")
    result = run(app, "leads", str(partner), "--user", "studentA")
    assert result.exit_code != 0 and leads() == []
    assert "unknown columns: Vorname, Nachname, Firma, Herkunft, Stand, Notiz" in result.stderr
    assert "known columns of leads (FIELD: label):" in result.stderr
    assert "  name: " in result.stderr and "(required)" in result.stderr and "  source: " in result.stderr
    assert "name:first, name:last, address:street" in result.stderr
    assert '--map "HEADER=FIELD"' in result.stderr and "this page" not in result.stderr

    maps = ["--map", "Vorname=name:first", "--map", "Nachname=name:last", "--map", "firma=company",
            "--map", "Herkunft=Source", "--map", "Stand=status", "--map", "Notiz=ignore"]
    result = run(app, "leads", str(partner), "--user", "studentA", *maps)
    assert result.exit_code == 0, result.output
    assert "2 of 2 rows imported" in result.stdout
    assert [(x.name, x.company, x.source, x.status) for x in leads()] == [
        ("Ada Lovelace", "Engines Ltd", "web", "qualified"), ("Li Lei", "Tea Co", "referral", "qualified")]

    result = run(app, "leads", str(partner), "--user", "studentA", "--map", "Herkunft=colour")
    assert result.exit_code != 0 and "'colour' is not a field of leads" in result.stderr
    result = run(app, "leads", str(partner), "--user", "studentA", "--map", "Origin=source")
    assert result.exit_code != 0 and "the file has no column 'Origin'" in result.stderr
    result = run(app, "leads", str(partner), "--user", "studentA", "--map", "source")
    assert result.exit_code != 0 and 'write it as "HEADER=FIELD"' in result.stderr
    assert len(leads()) == 2


def test_cli_reads_salesforce_csv_and_xlsx(app, classroom, tmp_path):
    csv_file = tmp_path / "sf.csv"
    csv_file.write_text("\n".join([SALESFORCE_HEADER, *SALESFORCE_ROWS]) + "\n", encoding="utf-8")
    result = run(app, "leads", str(csv_file), "--user", "studentA")
    assert result.exit_code == 0, result.output
    assert "4 of 4 rows imported" in result.stdout
    xlsx = tmp_path / "sf.xlsx"
    xlsx.write_bytes(_salesforce_xlsx())
    result = run(app, "leads", str(xlsx), "--user", "studentA")
    assert result.exit_code == 0 and "2 of 2 rows imported" in result.stdout
    assert [x.name for x in leads()][-2:] == ["Grace Hopper", "李红"]
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(_salesforce_xlsx()[:500])
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_Hans_CN"  # the installation's default (tests default to English)
    refresh()  # forget the locale this app context already chose
    result = run(app, "leads", str(broken), "--user", "studentA")
    assert result.exit_code != 0 and "无法读取此 .xlsx 工作簿" in result.stderr  # the default UI language


@pytest.mark.parametrize(("field", "parts", "whole", "expected"), [
    ("name", {"first": "Ada", "last": "Lovelace"}, "", "Ada Lovelace"),
    ("name", {"first": "小明", "last": "王"}, "", "王小明"),
    ("name", {"first": "", "last": "欧阳"}, "", "欧阳"),
    ("name", {"first": "Ada", "last": "Lovelace"}, "Countess Lovelace", "Countess Lovelace"),
    ("address", {"street": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701", "country": "USA"}, "",
     "1 Main St, Springfield, IL 62701, USA"),
    ("address", {"street": "龙井路1号", "city": "杭州市", "state": "浙江省", "zip": "", "country": ""}, "",
     "浙江省杭州市龙井路1号"),
])
def test_composed_fields(field, parts, whole, expected):
    assert import_columns.compose(field, parts, whole) == expected


def test_alias_data_points_at_real_fields_and_codes(app):
    """Every shipped alias targets a field (or part) of its record type, every value alias an existing code."""
    with app.test_request_context():
        types = {rt.name: rt for rt in registry.all_types()}
        for system, by_type in HEADER_ALIASES.items():
            for record_type, headers in by_type.items():
                valid = {t for t, _label in import_columns.targets(types[record_type])}
                wrong = {h: t for h, t in headers.items() if t not in valid}
                assert wrong == {}, f"{system} {record_type}: {wrong}"
        for table, values in VALUE_ALIASES.items():
            codes = {code for code, *_rest in DEFAULTS[table]}
            assert set(values.values()) <= codes, table
