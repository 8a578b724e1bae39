"""Campaigns (SPEC §5.10): the record, its members (one, by filter, by file), tasks, attribution and ROI."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.activities.models import Activity
from sandbox.campaigns import services
from sandbox.campaigns.models import Campaign, CampaignMember
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.opportunities.models import Opportunity
from tests import helpers
from tests.conftest import act_as
from tests.helpers import entries, field_error, text


def make_campaign(classroom: Any, owner: str = "studentA", name: str = "Spring fair", **fields: Any) -> Campaign:
    """A campaign created through its service as `owner`."""
    act_as(classroom.user(owner))
    campaign = services.create_campaign(Campaign, {"name": name, "status": "in_progress", **fields})
    db.session.commit()
    act_as(None)
    return campaign


def as_user(classroom: Any, owner: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service as `owner` and commit."""
    act_as(classroom.user(owner))
    result = fn(*args, **kwargs)
    db.session.commit()
    act_as(None)
    return result


def members(campaign: Campaign) -> list[CampaignMember]:
    db.session.expire_all()
    return list(db.session.scalars(select(CampaignMember).where(CampaignMember.campaign_id == campaign.id)
                                   .order_by(CampaignMember.id)))


def won_opportunity(create_opportunity: Any, owner: Any, campaign: Campaign, amount: str, stage: str = "closed_won",
                    **fields: Any) -> Opportunity:
    return create_opportunity(owner, name=f"Deal {amount}", stage=stage, amount=Decimal(amount),
                              campaign_id=campaign.id, **fields)


# ---- the record ------------------------------------------------------------------------------------------------
def test_student_creates_a_campaign_and_sees_it_logged(app, classroom):
    client = classroom.client_for(app, "studentA")
    data = {"name": "Tea expo", "type": "trade_show", "status": "planned", "start_date": "2030-03-01",
            "end_date": "2030-03-05", "budget": "5000", "expected_revenue": "20000", "actual_cost": "4000",
            "expected_response": "15", "audience": "Tea shops", "description": "Booth B12"}
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 302, text(response)[:2000]
    campaign = db.session.scalars(select(Campaign).execution_options(skip_visibility=True)).one()
    assert (campaign.name, campaign.actual_cost, campaign.expected_response) == ("Tea expo", Decimal("4000.00"), 15)
    assert campaign.owner_id == classroom.user("studentA").id
    assert [e.object_id for e in entries("campaign.create")] == [campaign.id]
    page = text(client.get(f"/campaigns/{campaign.id}"))
    assert "Tea expo" in page and "Trade show" in page or "展会" in page


@pytest.mark.parametrize(("field", "value", "message"), [
    ("end_date", "2030-02-01", "The end date must not be before the start date."),
    ("budget", "-1", "Must not be negative."),
    ("actual_cost", "abc", "Not a valid decimal value."),
    ("actual_cost", "1e400", ""),
    ("expected_response", "150", "Give a percentage from 0 to 100."),
    ("expected_response", "half", "Not a valid integer value."),
])
def test_bad_campaign_input_is_refused_next_to_the_field(app, classroom, field, value, message):
    client = classroom.client_for(app, "studentA")
    client.get("/auth/language/en")
    data = {"name": "Bad", "status": "planned", "start_date": "2030-03-01", field: value}
    response = client.post("/campaigns/new", data=data)
    assert response.status_code == 400
    error = field_error(text(response), field)
    assert error and message in error
    assert helpers.count(Campaign, skip_visibility=True, include_deleted=True) == 0


def test_end_before_start_refused_by_the_service_too(app, classroom):
    act_as(classroom.user("studentA"))
    with pytest.raises(services.ServiceError) as refused:
        services.create_campaign(Campaign, {"name": "X", "start_date": date(2030, 3, 2), "end_date": date(2030, 3, 1)})
    assert refused.value.field == "end_date"


def test_edit_keeps_saved_data_on_bad_input(app, classroom):
    campaign = make_campaign(classroom, start_date=date(2030, 3, 1), end_date=date(2030, 3, 9))
    client = classroom.client_for(app, "studentA")
    response = client.post(f"/campaigns/{campaign.id}/edit", data={
        "name": "Renamed", "status": "planned", "start_date": "2030-03-10", "end_date": "2030-03-09",
        "version": str(campaign.version)})
    assert response.status_code == 400
    assert helpers.fresh(campaign).name == "Spring fair"


# ---- visibility ------------------------------------------------------------------------------------------------
def test_a_student_never_sees_another_students_campaign(app, classroom):
    campaign = make_campaign(classroom, "studentA")
    peer = classroom.client_for(app, "studentB")
    assert peer.get(f"/campaigns/{campaign.id}").status_code == 404
    assert "Spring fair" not in text(peer.get("/campaigns/"))
    assert peer.post(f"/campaigns/{campaign.id}/members/add", data={"member_type": "lead"}).status_code == 404
    assert peer.get(f"/campaigns/{campaign.id}/members/import").status_code == 404
    # Not offered on their lead form, and a forged id is refused next to the field.
    assert "Spring fair" not in text(peer.get("/leads/new"))
    response = peer.post("/leads/new", data={"name": "Wang", "status": "new", "campaign_id": str(campaign.id)})
    assert response.status_code == 400 and field_error(text(response), "campaign_id")
    assert helpers.count(Lead, skip_visibility=True) == 0


def test_service_refuses_an_invisible_campaign_on_a_lead(app, classroom, create_lead):
    campaign = make_campaign(classroom, "studentA")
    act_as(classroom.user("studentB"))
    from sandbox.leads.record import LEAD

    with pytest.raises(services.ServiceError) as refused:
        LEAD.create_service(Lead, {"name": "Wang", "status": "new", "campaign_id": campaign.id})
    assert refused.value.field == "campaign_id"


def test_a_student_cannot_add_an_invisible_lead(app, classroom, create_lead):
    campaign = make_campaign(classroom, "studentA")
    foreign = create_lead(classroom.user("studentB"), name="Foreign lead")
    client = classroom.client_for(app, "studentA")
    response = client.post(f"/campaigns/{campaign.id}/members/add",
                           data={"member_type": "lead", "lead_id": str(foreign.id), "status": "planned"})
    assert response.status_code == 400
    assert "Choose a lead you can see." in field_error(text(response), "lead_id") or \
        "选择" in field_error(text(response), "lead_id")
    assert members(campaign) == []
    # An id beyond any database integer is refused the same way (no 500).
    response = client.post(f"/campaigns/{campaign.id}/members/add",
                           data={"member_type": "lead", "lead_id": "99999999999", "status": "planned"})
    assert response.status_code == 400


def test_foreign_ids_are_404(app, classroom, create_lead):
    mine = make_campaign(classroom, "studentA")
    other = make_campaign(classroom, "studentA", name="Other")
    lead = create_lead(classroom.user("studentA"))
    member = as_user(classroom, "studentA", services.add_member, other, "lead", lead.id)
    client = classroom.client_for(app, "studentA")
    # A member of another campaign, or no member at all, under this campaign's URL.
    assert client.post(f"/campaigns/{mine.id}/members/{member.id}/remove", data={}).status_code == 404
    assert client.post(f"/campaigns/{mine.id}/members/{member.id}/status", data={"status": "sent"}).status_code == 404
    assert client.post(f"/campaigns/{mine.id}/members/99999999999/remove", data={}).status_code == 404
    assert client.get("/campaigns/99999999999").status_code == 404
    assert client.get("/campaigns/tasks?campaign=99999999999").status_code == 404
    assert client.get("/campaigns/tasks?campaign=abc").status_code == 404
    assert len(members(other)) == 1


# ---- members ------------------------------------------------------------------------------------------------------
def test_add_change_and_remove_members_each_logged_on_the_campaign(app, classroom, create_lead, create_contact):
    campaign = make_campaign(classroom)
    owner = classroom.user("studentA")
    lead = create_lead(owner, name="Zhao Min")
    contact = create_contact(owner, name="Han Meimei")
    client = classroom.client_for(app, "studentA")
    assert client.post(f"/campaigns/{campaign.id}/members/add",
                       data={"member_type": "lead", "lead_id": str(lead.id), "status": "sent"}).status_code == 302
    assert client.post(f"/campaigns/{campaign.id}/members/add",
                       data={"member_type": "contact", "contact_id": str(contact.id),
                             "status": "planned"}).status_code == 302
    rows = members(campaign)
    assert [(m.lead_id, m.contact_id, m.status) for m in rows] == [(lead.id, None, "sent"), (None, contact.id, "planned")]
    # Twice: a clear message, nothing doubled.
    response = client.post(f"/campaigns/{campaign.id}/members/add",
                           data={"member_type": "lead", "lead_id": str(lead.id), "status": "sent"})
    assert response.status_code == 400
    assert "Zhao Min" in field_error(text(response), "lead_id")
    assert len(members(campaign)) == 2
    response = client.post(f"/campaigns/{campaign.id}/members/{rows[1].id}/status", data={"status": "responded"})
    assert response.status_code == 302
    assert members(campaign)[1].status == "responded" and members(campaign)[1].responded_at is not None
    # A status outside the code table is refused with a flash; nothing changes.
    response = client.post(f"/campaigns/{campaign.id}/members/{rows[1].id}/status", data={"status": "bogus"})
    assert response.status_code == 302 and members(campaign)[1].status == "responded"
    assert client.post(f"/campaigns/{campaign.id}/members/{rows[0].id}/remove", data={}).status_code == 302
    assert [m.contact_id for m in members(campaign)] == [contact.id]
    assert helpers.count(Lead, Lead.id == lead.id, skip_visibility=True) == 1  # the lead itself stays
    for verb, n in (("campaign.add_member", 2), ("campaign.update_member", 1), ("campaign.remove_member", 1)):
        found = entries(verb)
        assert len(found) == n and {(e.object_type, e.object_id) for e in found} == {("campaign", campaign.id)}
    assert entries("campaign.add_member")[0].params["member"].startswith("Zhao Min")


def test_members_added_by_filter_only_visible_and_never_twice(app, classroom, create_lead, create_account,
                                                             create_contact):
    campaign = make_campaign(classroom)
    owner, other = classroom.user("studentA"), classroom.user("studentB")
    hot = [create_lead(owner, name=f"Hot {i}", status="contacted", source="web") for i in range(3)]
    create_lead(owner, name="Cold", status="new", source="web")
    create_lead(other, name="Other class", status="contacted", source="web")
    as_user(classroom, "studentA", services.add_member, campaign, "lead", hot[0].id)
    client = classroom.client_for(app, "studentA")
    response = client.post(f"/campaigns/{campaign.id}/members/add-filtered",
                           data={"member_type": "lead", "lead_status": "contacted", "lead_source": "web"})
    assert response.status_code == 302, helpers.field_error(text(response), "member_type") + text(response)[-3000:]
    assert sorted(m.lead_id for m in members(campaign)) == sorted(h.id for h in hot)
    assert entries("campaign.add_members")[0].params["added"] == 2
    assert entries("campaign.add_members")[0].params["skipped"] == 1
    # The contacts of one account.
    account = create_account(owner, name="Tea Co.")
    c1 = create_contact(owner, name="A", account_id=account.id)
    create_contact(owner, name="B")
    assert client.post(f"/campaigns/{campaign.id}/members/add-filtered",
                       data={"member_type": "contact", "account_id": str(account.id)}).status_code == 302
    assert [m.contact_id for m in members(campaign) if m.contact_id] == [c1.id]
    # Another student's account is refused, and a filter matching nobody says so.
    foreign = create_account(other, name="Foreign")
    response = client.post(f"/campaigns/{campaign.id}/members/add-filtered",
                           data={"member_type": "contact", "account_id": str(foreign.id)})
    assert response.status_code == 400
    response = client.post(f"/campaigns/{campaign.id}/members/add-filtered",
                           data={"member_type": "lead", "lead_status": "unqualified"})
    assert response.status_code == 400


def test_member_import_all_or_nothing_with_a_per_row_report(app, classroom, create_lead, create_contact):
    campaign = make_campaign(classroom)
    owner = classroom.user("studentA")
    lead = create_lead(owner, name="Li Lei", email="li@example.com")
    create_lead(owner, name="Twin")
    create_lead(owner, name="Twin")
    contact = create_contact(owner, name="Han Meimei", email="han@example.com")
    foreign = create_lead(classroom.user("studentB"), name="Foreign")
    client = classroom.client_for(app, "studentA")
    client.get("/auth/language/en")
    bad = ("type,id,email,name,status\n"
           f"lead,{lead.id},,,planned\n"
           f"lead,{foreign.id},,,\n"
           "contact,,han@example.com,,Responded\n"
           "lead,,,Twin,\n"
           "person,,,x,\n"
           "lead,,,Li Lei,nonsense\n"
           f"lead,{lead.id},,,\n")
    response = client.post(f"/campaigns/{campaign.id}/members/import",
                           data={"file": (io.BytesIO(bad.encode()), "members.csv")})
    assert response.status_code == 400
    page = text(response)
    for line, words in ((3, "No lead you can see matches"), (5, "Several leads"), (6, "Type must be lead or contact"),
                        (7, "“nonsense” is not a response status"), (8, "Li Lei · Hangzhou Tea Co. appears twice")):
        assert f"Line {line}: {words}" in page, (line, page[page.find('import-errors'):][:1500])
    assert "Line 2" not in page and "Line 4" not in page
    assert members(campaign) == [] and entries("campaign.import_members") == []
    good = f"type,id,email,name,status\nlead,{lead.id},,,planned\ncontact,,HAN@example.com,,Responded\n"
    response = client.post(f"/campaigns/{campaign.id}/members/import",
                           data={"file": (io.BytesIO(good.encode()), "members.csv")})
    assert response.status_code == 302
    assert [(m.lead_id, m.contact_id, m.status) for m in members(campaign)] == [
        (lead.id, None, "planned"), (None, contact.id, "responded")]
    assert entries("campaign.import_members")[0].params["added"] == 2
    # Importing the same file again: both are members already; nobody is added twice.
    response = client.post(f"/campaigns/{campaign.id}/members/import",
                           data={"file": (io.BytesIO(good.encode()), "members.csv")})
    assert response.status_code == 400 and "already a member" in text(response)
    assert len(members(campaign)) == 2


def test_member_import_file_problems(app, classroom):
    campaign = make_campaign(classroom)
    client = classroom.client_for(app, "studentA")
    client.get("/auth/language/en")
    response = client.post(f"/campaigns/{campaign.id}/members/import",
                           data={"file": (io.BytesIO(b"foo,bar\n1,2\n"), "members.csv")})
    assert response.status_code == 400 and "needs a “type” column" in field_error(text(response), "file")
    response = client.post(f"/campaigns/{campaign.id}/members/import", data={})
    assert response.status_code == 400 and field_error(text(response), "file")
    response = client.post(f"/campaigns/{campaign.id}/members/import",
                           data={"file": (io.BytesIO(b"\xff\xfe\x00garbage"), "members.csv")})
    assert response.status_code == 400


# ---- figures ------------------------------------------------------------------------------------------------------
def build_campaign_with_results(classroom: Any, create_lead: Any, create_contact: Any,
                                create_opportunity: Any) -> Campaign:
    """4 members (2 responded), 3 leads, 3 opportunities of which 2 won for 3,000 + 5,000; cost 4,000."""
    owner = classroom.user("studentA")
    campaign = make_campaign(classroom, actual_cost=Decimal("4000"))
    leads = [create_lead(owner, name=f"L{i}", campaign_id=campaign.id) for i in range(3)]
    contact = create_contact(owner, name="C")
    other = create_lead(owner, name="Not from the campaign")
    for person, kind, status in ((leads[0], "lead", "responded"), (leads[1], "lead", "sent"),
                                 (contact, "contact", "responded"), (other, "lead", "planned")):
        as_user(classroom, "studentA", services.add_member, campaign, kind, person.id, status)
    won_opportunity(create_opportunity, owner, campaign, "3000")
    won_opportunity(create_opportunity, owner, campaign, "5000")
    won_opportunity(create_opportunity, owner, campaign, "9000", stage="negotiation")
    create_opportunity(owner, name="No campaign", stage="closed_won", amount=Decimal("100000"))
    return campaign


def test_figures_and_roi_exact(app, classroom, create_lead, create_contact, create_opportunity):
    campaign = build_campaign_with_results(classroom, create_lead, create_contact, create_opportunity)
    act_as(classroom.user("studentA"))
    f = services.figures(campaign)
    assert f.funnel == [4, 2, 3, 3, 2]
    assert f.won_amount == Decimal("8000.00")
    assert f.roi == Decimal("100.0")  # (8000 − 4000) ÷ 4000
    assert f.response_rate == Decimal("50.0")
    assert {code: n for code, _label, n in f.by_status} == {"planned": 1, "sent": 1, "received": 0, "opened": 0,
                                                          "responded": 2, "unsubscribed": 0}
    client = classroom.client_for(app, "studentA")
    page = text(client.get(f"/campaigns/{campaign.id}"))
    assert 'data-testid="fig-roi">100.0%' in page
    assert '"values": [4, 2, 3, 3, 2]' in page  # the funnel's data for campaign-funnel.js
    assert 'id="campaign-funnel-data"' in page and "campaign-funnel.js" in page


def test_another_class_never_changes_a_number(app, classroom, create_lead, create_contact, create_opportunity):
    campaign = build_campaign_with_results(classroom, create_lead, create_contact, create_opportunity)
    act_as(classroom.user("studentA"))
    before = services.figures(campaign)
    # Another class's student cannot even point records at the campaign; forced in behind the rule, their rows
    # still do not count for the owner (the visibility rule filters leads and opportunities).
    other = classroom.user("studentC")
    lead = create_lead(other, name="Intruder")
    opp = create_opportunity(other, name="Intruder deal", stage="closed_won", amount=Decimal("77777"))
    for row in (lead, opp):
        db.session.execute(db.update(type(row)).where(type(row).id == row.id).values(campaign_id=campaign.id)
                           .execution_options(skip_visibility=True))
    db.session.commit()
    act_as(classroom.user("studentA"))
    assert services.figures(campaign).funnel == before.funnel
    assert services.figures(campaign).won_amount == before.won_amount


@pytest.mark.parametrize(("cost", "reason"), [(None, "No actual cost recorded yet."),
                                              ("0", "The actual cost is zero")])
def test_roi_without_cost_says_why(app, classroom, cost, reason):
    campaign = make_campaign(classroom, actual_cost=Decimal(cost) if cost else None)
    client = classroom.client_for(app, "studentA")
    client.get("/auth/language/en")
    page = text(client.get(f"/campaigns/{campaign.id}"))
    assert 'data-testid="fig-roi">—' in page and reason in page


def test_negative_roi(app, classroom, create_opportunity):
    campaign = make_campaign(classroom, actual_cost=Decimal("2000"))
    won_opportunity(create_opportunity, classroom.user("studentA"), campaign, "500")
    act_as(classroom.user("studentA"))
    assert services.figures(campaign).roi == Decimal("-75.0")


# ---- attribution ---------------------------------------------------------------------------------------------------
def test_lead_and_opportunity_forms_carry_the_campaign(app, classroom, create_lead):
    campaign = make_campaign(classroom)
    client = classroom.client_for(app, "studentA")
    assert "Spring fair" in text(client.get("/leads/new"))
    response = client.post("/leads/new", data={"name": "Zhao", "status": "new", "campaign_id": str(campaign.id)})
    assert response.status_code == 302
    lead = db.session.scalars(select(Lead).execution_options(skip_visibility=True)).one()
    assert lead.campaign_id == campaign.id
    assert "Spring fair" in text(client.get(f"/leads/{lead.id}"))
    response = client.post("/opportunities/new", data={"name": "Deal", "stage": "prospecting",
                                                       "close_date": "2030-01-01", "campaign_id": str(campaign.id)})
    assert response.status_code == 302
    opp = db.session.scalars(select(Opportunity).execution_options(skip_visibility=True)).one()
    assert opp.campaign_id == campaign.id
    # No campaign is stored as none.
    response = client.post("/leads/new", data={"name": "No campaign", "status": "new", "campaign_id": "0"})
    assert response.status_code == 302
    assert db.session.scalar(select(Lead.campaign_id).where(Lead.name == "No campaign")
                             .execution_options(skip_visibility=True)) is None


def test_conversion_passes_the_campaign_on(app, classroom, create_lead):
    campaign = make_campaign(classroom)
    lead = create_lead(classroom.user("studentA"), campaign_id=campaign.id)
    client = classroom.client_for(app, "studentA")
    response = client.post(f"/leads/{lead.id}/convert", data={
        "account_mode": "new", "contact_id": "0", "create_opportunity": "y", "opportunity_name": "Tea deal",
        "stage": "prospecting", "close_date": "2030-01-01"})
    assert response.status_code == 302, text(response)[:1500]
    opp = db.session.scalars(select(Opportunity).execution_options(skip_visibility=True)).one()
    assert opp.campaign_id == campaign.id


# ---- tasks ----------------------------------------------------------------------------------------------------------
def test_campaign_tasks_views(app, classroom, create_activity):
    campaign = make_campaign(classroom)
    hidden = make_campaign(classroom, "studentB", name="Hidden")
    owner = classroom.user("studentA")
    mine_open = create_activity(owner, subject="Book the hall", related_type="campaign", related_id=campaign.id)
    create_activity(owner, subject="Print flyers", related_type="campaign", related_id=campaign.id,
                    status="completed")
    create_activity(classroom.user("studentB"), subject="Secret", related_type="campaign", related_id=hidden.id)
    create_activity(owner, subject="Not a campaign task")
    client = classroom.client_for(app, "studentA")

    def subjects(view: str) -> set[str]:
        page = text(client.get(f"/campaigns/tasks?view={view}"))
        return {s for s in ("Book the hall", "Print flyers", "Secret", "Not a campaign task") if s in page}

    assert subjects("my") == {"Book the hall"}
    assert subjects("open") == {"Book the hall"}
    assert subjects("history") == {"Print flyers"}
    assert subjects("all") == {"Book the hall", "Print flyers"}
    assert subjects("nonsense") == {"Book the hall"}
    assert client.get(f"/campaigns/tasks?campaign={hidden.id}").status_code == 404
    # The campaign page's activity panel lists its open task.
    assert "Book the hall" in text(client.get(f"/campaigns/{campaign.id}"))
    assert db.session.get(Activity, mine_open.id).related_type == "campaign"
