"""Campaign reports (/reports/campaigns): ROI, response, leads and won amount by campaign, exact and within visibility."""

from __future__ import annotations

from decimal import Decimal

from sandbox.campaigns import services
from sandbox.campaigns.models import Campaign
from sandbox.extensions import db
from sandbox.opportunities.models import Opportunity
from sandbox.reports import engine, registry
from tests.conftest import act_as
from tests.helpers import text
from tests.test_campaigns import as_user, make_campaign


def run(slug: str, by: str = "campaign") -> dict[str, dict[str, object]]:
    report = registry.find(slug)
    result = engine.run(report, engine.parse(report, {"by": by}))
    return {row.label: row.values for row in result.rows}


def build(classroom, create_lead, create_opportunity):
    owner = classroom.user("studentA")
    fair = make_campaign(classroom, name="Fair", actual_cost=Decimal("4000"), type="trade_show")
    mail = make_campaign(classroom, name="Mail", actual_cost=Decimal("1000"), type="email")
    free = make_campaign(classroom, name="Free", type="email")
    leads = [create_lead(owner, name=f"Fair lead {i}", campaign_id=fair.id) for i in range(3)]
    create_lead(owner, name="Mail lead", campaign_id=mail.id)
    create_lead(owner, name="Lead without campaign")
    for lead, status in zip(leads, ("responded", "sent", "responded"), strict=True):
        as_user(classroom, "studentA", services.add_member, fair, "lead", lead.id, status)
    as_user(classroom, "studentA", services.add_member, mail, "lead", leads[0].id, "planned")
    for amount, campaign, stage in (("3000", fair, "closed_won"), ("5000", fair, "closed_won"),
                                    ("9000", fair, "negotiation"), ("500", mail, "closed_won"),
                                    ("700", free, "closed_won")):
        create_opportunity(owner, name=f"Deal of {amount}", stage=stage, amount=Decimal(amount), campaign_id=campaign.id)
    # Another class's campaign with a big win: never in studentA's numbers.
    other = make_campaign(classroom, "studentC", name="Other class", actual_cost=Decimal("1"))
    create_opportunity(classroom.user("studentC"), name="Theirs", stage="closed_won", amount=Decimal("99999"),
                       campaign_id=other.id)
    return fair, mail, free


def test_roi_by_campaign_exact(app, classroom, create_lead, create_opportunity):
    fair, _mail, _free = build(classroom, create_lead, create_opportunity)
    # Another class's deal forced onto the campaign behind the rule: the visibility rule keeps it out of the sum.
    db.session.execute(db.update(Opportunity).where(Opportunity.name == "Theirs").values(campaign_id=fair.id)
                       .execution_options(skip_visibility=True))
    db.session.commit()
    with app.test_request_context():
        act_as(classroom.user("studentA"))
        rows = run("campaigns.roi")
        assert set(rows) == {"Fair", "Mail", "Free"}
        assert rows["Fair"]["roi"] == 100.0 and rows["Fair"]["won_amount"] == Decimal("8000.00")
        assert rows["Mail"]["roi"] == -50.0
        assert rows["Free"]["roi"] is None and rows["Free"]["won_amount"] == Decimal("700.00")
        by_type = run("campaigns.roi", "type")
        # email: Mail (500 won, 1000 cost); Free has no cost and stays out of the ratio.
        assert [v["roi"] for k, v in by_type.items() if "mail" in k.lower() or "邮件" in k] == [-50.0]


def test_response_leads_and_won_by_campaign(app, classroom, create_lead, create_opportunity):
    build(classroom, create_lead, create_opportunity)
    with app.test_request_context():
        act_as(classroom.user("studentA"))
        response = run("campaigns.response")
        assert (response["Fair"]["members"], response["Fair"]["responded"], response["Fair"]["response_rate"]) == (
            3, 2, 66.7)
        assert response["Fair"]["status_responded"] == 2 and response["Fair"]["status_sent"] == 1
        assert response["Mail"]["response_rate"] == 0.0 and response["Free"]["members"] == 0
        leads = run("campaigns.leads")
        assert {k: v["count"] for k, v in leads.items()} == {"Fair": 3, "Mail": 1}
        won = run("campaigns.won")
        assert {k: v["sum_amount"] for k, v in won.items()} == {
            "Fair": Decimal("8000.00"), "Mail": Decimal("500.00"), "Free": Decimal("700.00")}


def test_report_pages_and_drill_down(app, classroom, create_lead, create_opportunity):
    fair, _mail, _free = build(classroom, create_lead, create_opportunity)
    client = classroom.client_for(app, "studentA")
    page = text(client.get("/reports/campaigns?report=roi"))
    assert "Fair" in page and "Other class" not in page
    assert client.get("/reports/campaigns?report=response&by=type").status_code == 200
    page = text(client.get(f"/leads/?report=campaigns.leads&by=campaign&value={fair.id}"))
    assert "Fair lead 0" in page and "Fair lead 2" in page
    assert "Lead without campaign" not in page and "Mail lead" not in page
    page = text(client.get(f"/opportunities/?report=campaigns.won&by=campaign&value={fair.id}"))
    assert "Deal of 3000" in page and "Deal of 5000" in page and "Deal of 9000" not in page
    assert client.post("/reports/campaigns/export.csv?report=roi&by=campaign", data={}).status_code == 200
    # A campaign key that is no number narrows to nothing (no 500).
    assert client.get("/leads/?report=campaigns.leads&by=campaign&value=abc").status_code in (200, 400)
    teacher2 = classroom.client_for(app, "teacher2")
    page = text(teacher2.get("/reports/campaigns?report=roi"))
    assert "Other class" in page and "Fair" not in page
    assert db.session.get(Campaign, fair.id) is not None
