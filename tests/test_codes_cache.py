"""Picklists read once per request and kept between read-only requests of one process (issue 9, speed).

A process keeps the tables it built while the database's stamp (count and highest id of the values, highest
id of the picklist log entries) is unchanged. Two app instances over one database file stand for two
gunicorn workers: a picklist edited through one is read by the other's next page, whatever the change.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import insert, select

from sandbox.codes import services
from sandbox.codes.models import CodeValue
from sandbox.codes.services import SCHOOL, choices, extra, flagged, label, values_for
from sandbox.extensions import db
from tests.conftest import act_as
from tests.helpers import login, statements


def default(table: str, code: str) -> CodeValue:
    return db.session.scalar(select(CodeValue).where(CodeValue.table_name == table, CodeValue.code == code,
                                                     CodeValue.class_id.is_(None)))


def edit(client: Any, value_id: int, class_id: int | None, **fields: Any) -> int:
    """POST the admin's edit form of a value; the status."""
    data = {"label_zh": "网站", "label_en": "Website", "sort_order": "10", "active": "y",
            "class_id": "" if class_id is None else str(class_id), **fields}
    if fields.get("active") is False:
        data.pop("active")
    return client.post(f"/admin/code-tables/{value_id}", data=data).status_code


def lead_page(client: Any, lead_id: int) -> str:
    response = client.get(f"/leads/{lead_id}?lang=en")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def new_lead_form(client: Any) -> str:
    response = client.get("/leads/new?lang=en")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def second_app(app: Flask, app_factory: Any) -> Flask:
    """Another app instance over the same database: another worker process, with its own kept tables."""
    db.session.commit()
    return app_factory()


def test_a_picklist_changed_through_one_worker_is_read_by_the_other(app, second_app, classroom, make_lead):
    """Every kind of change (edit, deactivate, add, delete, a loader's plain insert) made through one app
    is on the other app's next page, though that app kept the tables of its earlier pages."""
    a = classroom.classes["A"]
    student_a = make_lead(classroom.user("studentA"), name="Kept lead", source="web")
    db.session.commit()
    web = default("lead_source", "web")
    reader = second_app.test_client()
    assert login(reader, "studentA").status_code == 302
    teacher = classroom.client_for(app, "teacher")
    admin = classroom.client_for(app, "admin")

    # The reader's worker keeps the tables of its first page...
    assert "Site of A" not in lead_page(reader, student_a.id)
    assert 'value="web"' in new_lead_form(reader) and "Hotline" not in new_lead_form(reader)
    # ...an override's label (an edit: count and ids unchanged, a log entry added) is read at once...
    assert edit(teacher, web.id, a.id, label_en="Site of A") == 302
    assert "Site of A" in lead_page(reader, student_a.id)
    # ...so is the school's default edited by the admin (no new row at all)...
    phone = default("lead_source", "phone")
    assert edit(admin, phone.id, None, label_zh=phone.label_zh, label_en="Hotline",
                sort_order=str(phone.sort_order)) == 302
    assert "Hotline" in new_lead_form(reader)
    # ...a deactivated value leaves the form (and stays on the record that holds it)...
    assert edit(teacher, web.id, a.id, label_en="Site of A", active=False) == 302
    assert 'value="web"' not in new_lead_form(reader)
    assert "Site of A" in lead_page(reader, student_a.id)
    # ...a value added for the class appears...
    assert teacher.post("/admin/code-tables/add", data={
        "table": "lead_source", "code": "wechat", "label_zh": "微信", "label_en": "WeChat", "sort_order": "5",
        "class_id": str(a.id)}).status_code == 302
    assert 'value="wechat"' in new_lead_form(reader)
    # ...an override deleted goes back to the default...
    override = db.session.scalar(select(CodeValue).where(CodeValue.code == "web", CodeValue.class_id == a.id))
    assert teacher.post(f"/admin/code-tables/{override.id}/delete", data={"class_id": str(a.id)}).status_code == 302
    assert "Site of A" not in lead_page(reader, student_a.id)
    assert 'value="web"' in new_lead_form(reader)  # the default, active
    # ...and a scenario loader's plain insert of a new default (no log entry) is seen too.
    db.session.execute(insert(CodeValue).values(table_name="lead_source", code="fair", label_zh="展会",
                                                label_en="Trade fair", sort_order=99, active=True))
    db.session.commit()
    assert 'value="fair"' in new_lead_form(reader)


def test_a_read_only_page_reads_only_the_stamp_once_the_tables_are_kept(app, classroom, make_lead):
    """The first page of a process loads a class's tables in one query; the next pages read the stamp alone."""
    lead = make_lead(classroom.user("studentA"), name="Stamp lead", status="new", source="web")
    db.session.commit()
    client = classroom.client_for(app, "studentA")
    app.extensions.pop("sandbox.codes", None)  # a fresh worker
    with statements(app) as first:
        assert client.get("/leads/").status_code == 200
    loads = [s for s in first if "FROM code_values" in s and "log_entries" not in s]
    assert len(loads) == 1  # every table of the class, one query
    for url in ("/leads/", f"/leads/{lead.id}", "/accounts/", "/opportunities/", "/"):
        with statements(app) as seen:
            assert client.get(url).status_code == 200
        touching = [s for s in seen if "code_values" in s]
        assert len(touching) == 1 and "log_entries" in touching[0], (url, touching)


def test_a_write_request_reads_its_own_change_and_keeps_nothing(app, classroom):
    """Inside a POST the tables are read from the request's own transaction and never kept for others."""
    admin = classroom.user("admin")
    with app.test_request_context("/admin/code-tables/add", method="POST"), force_locale("en"):
        act_as(admin)
        assert label("lead_source", "web", SCHOOL) == "Website"
        services.create_value("lead_source", "wechat", "微信", "WeChat", 5)
        assert label("lead_source", "wechat", SCHOOL) == "WeChat"  # its own, uncommitted value
        assert "sandbox.codes" not in app.extensions
        db.session.rollback()
        act_as(None)
    # The next request (its own application context: its own g and session) reads the database again.
    with app.app_context(), app.test_request_context("/"), force_locale("en"):
        act_as(admin)
        assert label("lead_source", "wechat", SCHOOL) == "wechat"  # rolled back: unknown, shown as its code
        assert "sandbox.codes" in app.extensions  # a read-only request keeps what it read
        act_as(None)


def test_lookups_answer_as_the_linear_scans_did(app, classroom):
    """label / extra / flagged / choices / values_for, by class and language, with the unknown cases."""
    a = classroom.classes["A"]
    with app.test_request_context("/"):
        act_as(classroom.user("studentA"))
        rows = list(db.session.scalars(select(CodeValue).where(CodeValue.class_id.is_(None))))
        expected = services.effective(rows, None)
        for table in {v.table_name for v in expected}:
            mine = [v for v in expected if v.table_name == table]
            assert [(v.id, v.code, v.label_zh, v.label_en, v.active) for v in values_for(table, a.id)] == [
                (v.id, v.code, v.label_zh, v.label_en, v.active) for v in mine]
            with force_locale("zh_Hans_CN"):
                assert [label(table, v.code) for v in mine] == [v.label_zh for v in mine]
                assert choices(table) == [(v.code, v.label_zh) for v in mine if v.active]
            with force_locale("en"):
                assert [label(table, v.code) for v in mine] == [v.label_en for v in mine]
                assert choices(table, blank=True)[0] == ("", "—")
            assert [dict(extra(table, v.code)) for v in mine] == [v.extra or {} for v in mine]
        assert flagged("opportunity_stage", "won") == sorted(
            v.code for v in expected if v.table_name == "opportunity_stage" and (v.extra or {}).get("won"))
        assert label("lead_source", None) == "" and label("lead_source", "nope") == "nope"
        assert label("no_such_table", "x") == "x" and extra("no_such_table", "x") == {}
        assert extra("opportunity_stage", None) == {} and choices("no_such_table") == []
        # Values are read-only copies: a caller cannot change what the next request reads.
        with pytest.raises(AttributeError):
            values_for("lead_source")[0].label_en = "changed"  # type: ignore[misc]
        won = next(v.code for v in expected if (v.extra or {}).get("won"))
        with pytest.raises(TypeError):
            extra("opportunity_stage", won)["won"] = False  # type: ignore[index]
        listed = flagged("opportunity_stage", "won")
        listed.append("mine")
        assert "mine" not in flagged("opportunity_stage", "won")
    act_as(None)


def amounts(client: Any) -> str:
    response = client.get("/opportunities/?lang=en")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_class_currency_kept_by_a_worker_follows_loads_and_undos(app, second_app, classroom, create_account,
                                                                  create_opportunity):
    """A worker keeps each class's currency (its current run's scenario's); a scenario loaded or undone
    through another worker changes the money on its next page."""
    from sandbox.classroom.runs.services import load_scenario, undo_reset

    a = classroom.classes["A"]
    student = classroom.user("studentA")
    account = create_account(student, name="Lakeside")
    create_opportunity(student, name="Typed deal", account_id=account.id, amount=Decimal("1000"))
    db.session.commit()
    reader = second_app.test_client()
    assert login(reader, "studentA").status_code == 302
    assert "CN¥1,000.00" in amounts(reader) and "CN¥1,000.00" in amounts(reader)  # kept by now
    act_as(classroom.user("teacher"))
    load_scenario(a, "sales-basics-en")
    db.session.commit()
    page = amounts(reader)
    assert "CN¥" not in page and "$" in page
    undo_reset(a)
    db.session.commit()
    act_as(None)
    page = amounts(reader)
    assert "CN¥1,000.00" in page
