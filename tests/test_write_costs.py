"""What the lecture hall's writes cost in statements, and the log entries they write.

The hall (bench/lecture_hall_users.py) mixes five writes into its reads: create a lead, log a call, convert
the lead, add a product line, move the stage. Each request of them (the form's GET and the POST) is pinned
here at the exact number of statements it sends, as tests/test_query_counts.py pins the pages: a lower
count is welcome (lower the pin with it), a higher one needs a reason. The second test pins what those
writes put in the operation log, field by field, so making them cheaper can never change what they record.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from flask import Flask
from sqlalchemy import select

from sandbox.extensions import db
from sandbox.oplog import LogEntry

from .helpers import statements

# Request -> the statements it sends (signed in; the organisation's version, the picklists' stamp and the badge
# included, one statement on a GET (sandbox.first_reads); the user and the viewer kept by the worker since the
# previous page; the transaction's BEGIN left out, which only SQLite sends as a statement).
WRITE_COSTS = {
    "GET /leads/new": 2,
    "POST /leads/new": 6,
    "POST /activities/log-call": 5,
    "GET /leads/[id]/convert": 5,
    "POST /leads/[id]/convert": 16,
    "POST /opportunities/[id]/lines/new": 10,
    "POST /opportunities/[id]/stage": 7,
}


def _sent(app: Flask, request: Any) -> tuple[Any, list[str]]:
    with statements(app) as seen:
        response = request()
    return response, [" ".join(s.split())[:160] for s in seen if not s.lstrip().upper().startswith("BEGIN")]


def _hall_writes(app: Flask, client: Any, product_id: int) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The hall's five writes, as its students make them: (statements per request, ids of what they made)."""
    sent: dict[str, list[str]] = {}
    ids: dict[str, int] = {}

    def measure(name: str, request: Any, status: int) -> Any:
        response, sql = _sent(app, request)
        assert response.status_code == status, (name, response.status_code, response.get_data(as_text=True)[:2000])
        sent[name] = sql
        return response

    def follow(response: Any) -> str:
        page = client.get(response.headers["Location"])
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert "alert-danger" not in body and "alert-warning" not in body, body[:2000]
        return response.headers["Location"]

    assert client.get("/leads/new").status_code == 200  # warm: the process keeps the picklists of read pages
    measure("GET /leads/new", lambda: client.get("/leads/new"), 200)
    created = measure("POST /leads/new", lambda: client.post("/leads/new", data={
        "name": "Hall lead", "company": "Hall Co.", "status": "new", "campaign_id": "0"}), 302)
    ids["lead"] = int(re.search(r"/leads/(\d+)", follow(created)).group(1))
    called = measure("POST /activities/log-call", lambda: client.post("/activities/log-call", data={
        "related_type": "lead", "related_id": str(ids["lead"]), "subject": "Hall call"}), 302)
    follow(called)
    measure("GET /leads/[id]/convert", lambda: client.get(f"/leads/{ids['lead']}/convert"), 200)
    converted = measure("POST /leads/[id]/convert", lambda: client.post(f"/leads/{ids['lead']}/convert", data={
        "account_mode": "new", "account_id": "0", "contact_id": "0", "create_opportunity": "y",
        "opportunity_name": "Hall deal", "stage": "prospecting", "close_date": "2030-06-30"}), 302)
    ids["opportunity"] = int(re.search(r"/opportunities/(\d+)", follow(converted)).group(1))
    opp = ids["opportunity"]
    lined = measure("POST /opportunities/[id]/lines/new", lambda: client.post(f"/opportunities/{opp}/lines/new", data={
        "product_id": str(product_id), "quantity": "3", "discount": "10"}), 302)
    follow(lined)
    moved = measure("POST /opportunities/[id]/stage", lambda: client.post(f"/opportunities/{opp}/stage", data={
        "stage": "proposal"}), 302)
    follow(moved)
    return sent, ids


def _setup(app: Flask, classroom: Any, create_run: Any, create_product: Any) -> tuple[Any, int]:
    """Class A with its scenario loaded (log entries then carry a run), a product of the class, studentA signed in."""
    create_run(classroom.classes["A"], classroom.user("teacher"))
    product = create_product(classroom.user("teacher"), name="Hall pen", code="HALL-1", list_price=Decimal("12.50"),
                             class_id=classroom.classes["A"].id)
    return classroom.client_for(app, "studentA"), product.id


def test_each_hall_write_sends_its_pinned_statements(app, classroom, create_run, create_product):
    """Every write request of the hall sends exactly its pinned number of statements."""
    client, product_id = _setup(app, classroom, create_run, create_product)
    sent, _ids = _hall_writes(app, client, product_id)
    counts = {name: len(sql) for name, sql in sent.items()}
    changed = {name: (counts[name], pin) for name, pin in WRITE_COSTS.items() if counts[name] != pin}
    assert not changed, f"(sent, pinned) per request: {changed}; statements: " + json.dumps(
        {name: sent[name] for name in changed}, indent=1)


def _rows(since: int) -> list[dict[str, Any]]:
    db.session.expire_all()
    entries = db.session.scalars(select(LogEntry).where(LogEntry.id > since).order_by(LogEntry.id)
                                 .execution_options(skip_visibility=True))
    return [{"verb": e.verb, "actor_id": e.actor_id, "actor_role": e.actor_role, "actor_label": e.actor_label,
             "object_type": e.object_type, "object_id": e.object_id, "object_label": e.object_label,
             "changes": e.changes, "params": e.params, "class_id": e.class_id, "run_id": e.run_id, "ip": e.ip,
             "as_teacher": e.as_teacher, "source": e.source, "request_id": bool(e.request_id)} for e in entries]


def _no_times(value: Any) -> Any:
    """The entry with its timestamps (created_at, start_at...) replaced by a marker: they are the clock's."""
    if isinstance(value, dict):
        return {k: _no_times(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_times(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", value):
        return "<time>"
    return value


def test_the_hall_writes_log_what_they_logged(app, classroom, create_run, create_product):
    """The entries the five writes append, field by field (as written before their requests were made cheaper)."""
    from sandbox.accounts.models import Account
    from sandbox.activities.models import Activity
    from sandbox.classroom.runs.lookup import current_run
    from sandbox.contacts.models import Contact
    from sandbox.opportunities.models import StageHistory
    from sandbox.opportunities.related_models import OpportunityLine

    client, product_id = _setup(app, classroom, create_run, create_product)
    since = db.session.scalar(select(LogEntry.id).order_by(LogEntry.id.desc()).limit(1)
                              .execution_options(skip_visibility=True)) or 0
    _sent_sql, ids = _hall_writes(app, client, product_id)
    rows = [_no_times(r) for r in _rows(since)]
    student = classroom.user("studentA")
    class_id = classroom.classes["A"].id
    run_id = current_run(class_id, student.id).id
    lead, opp = ids["lead"], ids["opportunity"]
    call = db.session.scalar(select(Activity.id).where(Activity.related_type == "lead", Activity.related_id == lead)
                             .execution_options(skip_visibility=True))
    account = db.session.scalar(select(Account.id).where(Account.name == "Hall Co.").execution_options(skip_visibility=True))
    contact = db.session.scalar(select(Contact.id).where(Contact.name == "Hall lead").execution_options(skip_visibility=True))
    history = list(db.session.scalars(select(StageHistory.id).where(StageHistory.opportunity_id == opp)
                                      .order_by(StageHistory.id)))
    line = db.session.scalar(select(OpportunityLine.id).where(OpportunityLine.opportunity_id == opp))
    actor = {"actor_id": student.id, "actor_role": "student", "actor_label": "Studenta (studentA)",
             "class_id": class_id, "run_id": run_id, "ip": "127.0.0.1", "as_teacher": False, "source": "ui",
             "request_id": True}
    mine = {"owner_id": [None, student.id], "class_id": [None, class_id], "created_by_id": [None, student.id]}
    lead_fields = {"name": [None, "Hall lead"], "company": [None, "Hall Co."], "title": [None, None],
                   "phone": [None, None], "mobile": [None, None], "email": [None, None], "website": [None, None],
                   "address": [None, None], "industry": [None, None], "source": [None, None], "status": [None, "new"],
                   "rating": [None, None], "annual_revenue": [None, None], "employees": [None, None],
                   "description": [None, None], "campaign_id": [None, None], **mine}
    expected = [
        {**actor, "verb": "lead.create", "object_type": "lead", "object_id": lead, "object_label": "Hall lead · Hall Co.",
         "changes": {"action": "create", "fields": lead_fields}, "params": None},
        {**actor, "verb": "activity.log_call", "object_type": "activity", "object_id": call, "object_label": "Hall call",
         "changes": {"action": "create", "fields": {
             "kind": [None, "event"], "subject": [None, "Hall call"], "event_type": [None, "call"],
             "start_at": [None, "<time>"], "end_at": [None, "<time>"], "description": [None, None],
             "related_type": [None, "lead"],
             "related_id": [None, lead], **mine}},
         "params": {"related": "Hall lead · Hall Co.", "related_type": "lead", "related_id": lead}},
        {**actor, "verb": "account.create", "object_type": "account", "object_id": account, "object_label": "Hall Co.",
         "changes": {"action": "create", "fields": {
             "name": [None, "Hall Co."], "type": [None, "prospect"], "industry": [None, None], "rating": [None, None],
             "source": [None, None], "phone": [None, None], "email": [None, None], "website": [None, None],
             "billing_address": [None, None], "employees": [None, None], "annual_revenue": [None, None],
             "parent_id": [None, None], "description": [None, None], **mine}}, "params": None},
        {**actor, "verb": "contact.create", "object_type": "contact", "object_id": contact, "object_label": "Hall lead",
         "changes": {"action": "create", "fields": {
             "name": [None, "Hall lead"], "account_id": [None, account], "title": [None, None], "phone": [None, None],
             "mobile": [None, None], "email": [None, None], "address": [None, None], "reports_to_id": [None, None],
             "source": [None, None], **mine}}, "params": None},
        {**actor, "verb": "opportunity.create", "object_type": "opportunity", "object_id": opp, "object_label": "Hall deal",
         "changes": {"action": "create", "fields": {
             "name": [None, "Hall deal"], "account_id": [None, account], "type": [None, "new_business"],
             "stage": [None, "prospecting"], "probability": [None, 10], "amount": [None, None],
             "close_date": [None, "2030-06-30"], "source": [None, None], "lost_reason": [None, None],
             "campaign_id": [None, None], **mine},
             "related": [{"type": "stage_history", "id": history[0], "action": "create"}]}, "params": None},
        {**actor, "verb": "lead.convert", "object_type": "lead", "object_id": lead, "object_label": "Hall lead · Hall Co.",
         "changes": {"action": "update", "fields": {
             "status": ["new", "converted"], "converted_at": [None, "<time>"], "converted_account_id": [None, account],
             "converted_contact_id": [None, contact], "converted_opportunity_id": [None, opp]}},
         "params": {"account": "Hall Co.", "contact": "Hall lead", "opportunity": "Hall deal"}},
        {**actor, "verb": "opportunity.add_line", "object_type": "opportunity", "object_id": opp,
         "object_label": "Hall deal",
         "changes": {"action": "update", "fields": {"amount": [None, "33.75"]},
                     "related": [{"type": "opportunity_line", "id": line, "action": "create"}]},
         "params": {"product": "HALL-1 Hall pen", "quantity": "3", "unit_price": "12.50", "discount": "10",
                    "child_id": line}},
        {**actor, "verb": "opportunity.stage_change", "object_type": "opportunity", "object_id": opp,
         "object_label": "Hall deal",
         "changes": {"action": "update", "fields": {"stage": ["prospecting", "proposal"], "probability": [10, 65]},
                     "related": [{"type": "stage_history", "id": history[1], "action": "create"}]},
         "params": {"from_stage": "prospecting", "to_stage": "proposal"}},
    ]
    assert [r["verb"] for r in rows] == [e["verb"] for e in expected]
    wrong = [(got, want) for got, want in zip(rows, expected, strict=True) if got != want]
    assert not wrong, "entries not as written before (got, expected): " + json.dumps(wrong, default=str, indent=1)


def test_a_write_request_reads_kept_picklists_only_under_their_stamp(app, classroom):
    """A write reads the picklists read-only requests keep (no code_values load), but never past a change:
    once a value is deactivated elsewhere, the next write reads the table again and refuses the value."""
    from sandbox.codes.models import CodeValue
    from sandbox.codes.services import update_value

    from .helpers import act_as

    client = classroom.client_for(app, "studentA")
    assert client.get("/leads/new").status_code == 200  # a read-only request keeps the tables

    def create(name: str) -> tuple[Any, list[str]]:
        return _sent(app, lambda: client.post("/leads/new", data={
            "name": name, "company": f"{name} Co.", "status": "contacted", "campaign_id": "0"}))

    response, sql = create("Kept lead")
    assert response.status_code == 302
    loads = [s for s in sql if s.startswith("SELECT code_values.")]
    assert not loads and any("FROM code_values" in s for s in sql)  # the stamp, not the table
    act_as(classroom.user("teacher"))
    value = db.session.scalar(select(CodeValue).where(CodeValue.table_name == "lead_status",
                                                      CodeValue.code == "contacted", CodeValue.class_id.is_(None)))
    update_value(value, value.label_zh, value.label_en, value.sort_order, False, classroom.classes["A"].id)
    db.session.commit()
    act_as(None)
    response, sql = create("Refused lead")
    assert response.status_code == 400  # "contacted" is no longer offered in class A
    assert any(s.startswith("SELECT code_values.") for s in sql)
