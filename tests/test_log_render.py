"""The log speaks the reader's language (SPEC §8.1, §9): labels not codes, names not ids, local times
without microseconds, summaries rendered when read; CSV for machines."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from sandbox.accounts.models import Account
from sandbox.extensions import db
from sandbox.oplog import LogEntry
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.services import change_stage, create_opportunity, update_opportunity
from sandbox.records.services import create_record
from tests.conftest import act_as

MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+")
RAW_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def text(html: str) -> str:
    """The page as a reader sees it: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _as(user: Any, fn: Any, *args: Any) -> Any:
    act_as(user)
    result = fn(*args)
    db.session.commit()
    act_as(None)
    return result


@pytest.fixture
def won(app, classroom) -> Opportunity:
    """An opportunity moved to another account, then from negotiation to closed won, by studentA."""
    student = classroom.user("studentA")
    first = _as(student, create_record, Account, {"name": "Tea House"})
    second = _as(student, create_record, Account, {"name": "Lakeside Hotel"})
    opp = _as(student, create_opportunity, Opportunity, {
        "name": "Spring order", "account_id": first.id, "stage": "negotiation", "close_date": date(2030, 6, 30),
        "amount": Decimal("38320")})
    _as(student, update_opportunity, opp, {"account_id": second.id, "amount": Decimal("40000")})
    _as(student, change_stage, opp, "closed_won")
    return opp


def test_the_timeline_shows_labels_names_and_local_times(app, classroom, won):
    """The timeline shows labels names and local times."""
    client = classroom.client_for(app, "studentA")
    english = text(client.get(f"/opportunities/{won.id}?lang=en").get_data(as_text=True))
    assert "Stage: Negotiation → Closed won" in english
    assert "Account: Tea House → Lakeside Hotel" in english
    assert "Amount: ¥38,320.00 → ¥40,000.00" in english or "Amount: CN¥38,320.00 → CN¥40,000.00" in english
    assert "moved opportunity Spring order from Negotiation to Closed won" in english
    assert "closed_won" not in english and "account_id" not in english
    assert not MICROSECONDS.search(english) and not RAW_ISO.search(english)
    chinese = text(client.get(f"/opportunities/{won.id}?lang=zh_Hans_CN").get_data(as_text=True))
    assert "阶段: 谈判审核 → 赢单" in chinese
    assert "客户: Tea House → Lakeside Hotel" in chinese
    assert "closed_won" not in chinese and not MICROSECONDS.search(chinese)


def test_new_entries_store_codes_and_old_ones_still_read_in_the_readers_language(app, classroom, won):
    """New entries store codes and old ones still read in the readers language."""
    entry = db.session.scalars(select(LogEntry).where(LogEntry.verb == "opportunity.stage_change")).one()
    assert entry.params == {"from_stage": "negotiation", "to_stage": "closed_won"}
    # An entry written before this change stored the labels of its writer's language (here Chinese).
    act_as(None)
    db.session.add(LogEntry(verb="opportunity.stage_change", actor_id=classroom.user("studentA").id,
                            actor_label="studentA", object_type="opportunity", object_id=won.id,
                            object_label="Spring order", class_id=won.class_id,
                            params={"from_stage": "需求分析", "to_stage": "谈判审核"}))
    db.session.commit()
    client = classroom.client_for(app, "studentA")
    english = text(client.get("/log/?lang=en").get_data(as_text=True))
    assert "moved opportunity Spring order from Needs analysis to Negotiation" in english
    chinese = text(client.get("/log/?lang=zh_Hans_CN").get_data(as_text=True))
    assert "Spring order" in chinese and "需求分析" in chinese and "Needs analysis" not in chinese


def test_a_referenced_record_out_of_sight_is_not_shown_by_id(app, classroom, won):
    """The teacher of another class reads nothing; a reference that does not resolve is never a bare id."""
    entry = db.session.scalars(select(LogEntry).where(LogEntry.verb == "opportunity.update")).one()
    from sandbox.log.render import render_entries

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        act_as(classroom.user("studentB"))  # cannot see studentA's accounts
        changes = {c.name: c for c in render_entries([entry])[0].changes}
        act_as(None)
    account = changes["account_id"]
    assert account.label == "Account"
    assert account.before == account.after == "(not visible to you)"


def test_the_log_page_filters_by_labelled_actions_and_types(app, classroom, won):
    """The log page filters by labelled actions and types."""
    client = classroom.client_for(app, "studentA")
    page = client.get("/log/?lang=en").get_data(as_text=True)
    assert '<option value="opportunity.stage_change" >Opportunity · change the stage</option>' in page
    assert '<option value="opportunity" >Opportunity</option>' in page
    zh = client.get("/log/?lang=zh_Hans_CN").get_data(as_text=True)
    assert ">销售机会 · 推进阶段</option>" in zh
    filtered = text(client.get("/log/?lang=en&verb=opportunity.stage_change").get_data(as_text=True))
    assert "moved opportunity Spring order" in filtered and "created opportunity" not in filtered


def test_the_log_csv_has_iso_times_with_offset_and_json_changes(app, classroom, won):
    """The log csv has iso times with offset and json changes."""
    client = classroom.client_for(app, "studentA")
    body = client.get("/log/export.csv?lang=en").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body)))
    stage = next(r for r in rows if r["verb"] == "opportunity.stage_change")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00", stage["at"])  # TIMEZONE Asia/Shanghai
    assert json.loads(stage["changes"])["stage"] == ["negotiation", "closed_won"]
    assert stage["summary"] == "moved opportunity Spring order from Negotiation to Closed won"
    assert stage["action"] == "Opportunity · change the stage"


def test_a_deadline_extension_reads_in_local_time(app, classroom):
    """Older grading entries stored the new deadline in UTC text; it reads in the configured zone."""
    act_as(None)
    db.session.add(LogEntry(verb="grade.extend_deadline", object_type="deadline_extension",
                            params={"student": "studentA", "deadline": "2030-01-01 16:00"}))
    db.session.commit()
    from sandbox.log.render import render_entries

    entry = db.session.scalars(select(LogEntry).where(LogEntry.verb == "grade.extend_deadline")).one()
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        summary = render_entries([entry])[0].summary
    assert "studentA" in summary and "1/2/30, 12:00" in summary and "UTC" not in summary


def test_type_labels_translate_evidence_kinds(app):
    """Type labels translate evidence kinds."""
    from sandbox.log.render import type_label

    with app.test_request_context("/"):
        with force_locale("zh_Hans_CN"):
            assert type_label("opportunity") == "销售机会" and type_label("lead") == "线索"
        with force_locale("en"):
            assert type_label("opportunity") == "Opportunity"


def test_the_convert_page_suggests_a_translated_opportunity_name(app, classroom, make_lead):
    """The convert page suggests a translated opportunity name."""
    lead = make_lead(classroom.user("studentA"), company="Hangzhou Tea Co.")
    client = classroom.client_for(app, "studentA")
    assert "Hangzhou Tea Co. · 新业务" in client.get(f"/leads/{lead.id}/convert?lang=zh_Hans_CN").get_data(as_text=True)
    assert "Hangzhou Tea Co. · new business" in client.get(f"/leads/{lead.id}/convert?lang=en").get_data(as_text=True)


def test_the_dashboard_lists_recent_changes_with_labels(app, classroom, won):
    """The dashboard lists recent changes with labels."""
    client = classroom.client_for(app, "studentA")
    english = text(client.get("/?lang=en").get_data(as_text=True))
    assert "Stage: Negotiation → Closed won" in english and "Account: Tea House → Lakeside Hotel" in english
    assert "closed_won" not in english and not MICROSECONDS.search(english)
