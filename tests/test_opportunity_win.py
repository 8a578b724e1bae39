"""Winning a deal asks first: a server-side confirmation step before any stage change to a won stage (issue §4)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from sandbox.extensions import db
from sandbox.oplog import LogEntry
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.services import create_opportunity
from tests.conftest import act_as


@pytest.fixture
def opp(app, classroom) -> Opportunity:
    act_as(classroom.user("studentA"))
    deal = create_opportunity(Opportunity, {"name": "Tea deal", "stage": "negotiation", "amount": Decimal("8800"),
                                            "close_date": date(2030, 6, 30)})
    db.session.commit()
    act_as(None)
    return deal


def stage_of(ident: int) -> str:
    return db.session.scalars(select(Opportunity.stage).where(Opportunity.id == ident)
                              .execution_options(skip_visibility=True)).one()


def won_entries() -> int:
    return len([e for e in db.session.scalars(select(LogEntry).where(LogEntry.verb == "opportunity.stage_change"))
                if (e.params or {}).get("to_stage") == "closed_won"])  # a code, rendered when read


def hidden_fields(page: str) -> dict[str, str]:
    card = page.split('data-testid="confirm-won"', 1)[1]
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', card, re.S)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)))
    fields["_action"] = form.group(1)
    return fields


def test_stage_path_asks_before_winning(app, classroom, opp):
    student = classroom.client_for(app, "studentA")
    before = won_entries()
    response = student.post(f"/opportunities/{opp.id}/stage", data={"stage": "closed_won"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="confirm-won"' in page
    assert "Mark “Tea deal” as won?" in page and "¥8,800.00" in page
    assert stage_of(opp.id) == "negotiation" and won_entries() == before  # nothing changed yet
    fields = hidden_fields(page)
    assert fields["stage"] == "closed_won" and fields["confirm_won"] == "y"
    action = fields.pop("_action")
    response = student.post(action, data=fields)
    assert response.status_code == 302
    assert stage_of(opp.id) == "closed_won" and won_entries() == before + 1


def test_other_stages_need_no_confirmation(app, classroom, opp):
    student = classroom.client_for(app, "studentA")
    assert student.post(f"/opportunities/{opp.id}/stage", data={"stage": "proposal"}).status_code == 302
    assert stage_of(opp.id) == "proposal"


def test_edit_form_asks_before_winning_and_keeps_the_other_fields(app, classroom, opp):
    student = classroom.client_for(app, "studentA")
    data = {"name": "Tea deal renamed", "stage": "closed_won", "amount": "9000", "close_date": "2030-06-30",
            "version": str(opp.version)}
    response = student.post(f"/opportunities/{opp.id}/edit", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-testid="confirm-won"' in page
    assert stage_of(opp.id) == "negotiation"
    fields = hidden_fields(page)
    assert fields["name"] == "Tea deal renamed" and fields["amount"] == "9000"
    action = fields.pop("_action")
    assert student.post(action, data=fields).status_code == 302
    saved = db.session.scalars(select(Opportunity).where(Opportunity.id == opp.id)
                               .execution_options(skip_visibility=True, populate_existing=True)).one()
    assert (saved.stage, saved.name, saved.amount) == ("closed_won", "Tea deal renamed", Decimal("9000.00"))


def test_confirmation_is_no_way_around_permissions(app, classroom, opp):
    """Someone who may not change the deal gets the usual refusal, not the question."""
    for name, status in (("readonlyA", 403), ("studentA2", 404), ("studentB", 404)):
        client = classroom.client_for(app, name)
        assert client.post(f"/opportunities/{opp.id}/stage", data={"stage": "closed_won"}).status_code == status
        assert client.post(f"/opportunities/{opp.id}/edit", data={"stage": "closed_won", "confirm_won": "y"}
                           ).status_code == status
    assert stage_of(opp.id) == "negotiation"
