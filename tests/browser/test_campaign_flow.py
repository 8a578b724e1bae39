"""A student's campaign in Chromium: create it, add members one by one and by filter, record a response,
and see the funnel Chart.js draws from the page's JSON (no inline script; CSP and SRI as in production)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from .conftest import ARTIFACTS, Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.browser
def test_student_creates_a_campaign_adds_members_and_sees_the_funnel(pages: Pages, classroom: Any,
                                                                      create_lead: Any, create_opportunity: Any,
                                                                      ) -> None:
    student = classroom.user("studentA")
    first = create_lead(student, name="Zhao Min", company="Ningbo Porcelain", status="contacted", source="web")
    for i in range(3):
        create_lead(student, name=f"Web lead {i}", company=f"Shop {i}", status="new", source="web")
    create_lead(classroom.user("studentB"), name="Other class lead", status="new", source="web")

    page = pages.new()
    sign_in(page, student.username)
    page.goto("/campaigns/new")
    page.fill("input[name=name]", "Spring tea fair")
    page.select_option("select[name=type]", "trade_show")
    page.select_option("select[name=status]", "in_progress")
    page.fill("input[name=start_date]", "2030-03-01")
    page.fill("input[name=end_date]", "2030-02-01")
    page.fill("input[name=actual_cost]", "2000")
    with page.expect_navigation():
        page.locator("form.form [type=submit]").click()
    # The end before the start is refused next to the field; the rest of the form is kept.
    assert "must not be before the start" in page.locator(".invalid-feedback").first.inner_text()
    assert page.input_value("input[name=name]") == "Spring tea fair"
    page.fill("input[name=end_date]", "2030-03-05")
    with page.expect_navigation():
        page.locator("form.form [type=submit]").click()
    assert page.get_by_test_id("record-title").inner_text() == "Spring tea fair"
    campaign_id = int(page.url.rstrip("/").split("/")[-1].split("#")[0])

    # One by one: the picker offers only the student's own leads.
    form = page.get_by_test_id("add-member-form")
    options = form.locator("select[name=lead_id] option").all_inner_texts()
    assert any("Zhao Min" in o for o in options) and not any("Other class" in o for o in options)
    form.locator("select[name=lead_id]").select_option(str(first.id))
    form.locator("select[name=status]").select_option("responded")
    with page.expect_navigation():
        form.locator("[type=submit]").click()
    # By filter: the new web leads (the first is contacted, so it is not matched again).
    flt = page.get_by_test_id("filter-member-form")
    flt.locator("select[name=lead_status]").select_option("new")
    flt.locator("select[name=lead_source]").select_option("web")
    with page.expect_navigation():
        flt.locator("[type=submit]").click()
    assert "3 added; 0 were members already." in page.content()
    assert page.get_by_test_id("fig-members").inner_text() == "4"

    # A lead attributed to the campaign becomes a won deal: the funnel and ROI follow.
    create_lead(student, name="Fair visitor", campaign_id=campaign_id)
    create_opportunity(student, name="Fair deal", stage="closed_won", amount=Decimal("5000"), campaign_id=campaign_id)
    page.goto(f"/campaigns/{campaign_id}")
    page.wait_for_selector("#campaign-funnel[data-rendered=true]")
    values = page.evaluate("() => document.getElementById('campaign-funnel').chart.data.datasets[0].data")
    assert values == [4, 1, 1, 1, 1]
    assert page.get_by_test_id("fig-roi").inner_text() == "150.0%"  # (5000 − 2000) ÷ 2000
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "campaign-detail.png"), full_page=True)
    assert pages.problems == []


@pytest.mark.browser
def test_campaign_tasks_import_report_pages(pages: Pages, classroom: Any, create_lead: Any, create_activity: Any,
                                            create_opportunity: Any, tmp_path: Any) -> None:
    from datetime import date

    from sandbox.campaigns.models import Campaign
    from sandbox.campaigns.services import create_campaign
    from sandbox.extensions import db
    from tests.conftest import act_as

    student = classroom.user("studentA")
    act_as(student)
    campaign = create_campaign(Campaign, {"name": "Autumn mailing", "status": "in_progress", "type": "email",
                                          "actual_cost": Decimal("800")})
    db.session.commit()
    act_as(None)
    create_activity(student, subject="Write the letter", related_type="campaign", related_id=campaign.id,
                    due_date=date(2030, 9, 1))
    create_lead(student, name="Letter reader", campaign_id=campaign.id)
    create_opportunity(student, name="Mailing deal", stage="closed_won", amount=Decimal("1200"),
                       campaign_id=campaign.id)
    page = pages.new()
    sign_in(page, student.username)
    ARTIFACTS.mkdir(exist_ok=True)

    page.goto("/campaigns/tasks?view=all")
    assert "Write the letter" in page.get_by_test_id("task-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "campaign-tasks.png"), full_page=True)

    bad = tmp_path / "members.csv"
    bad.write_text("type,name\nlead,Nobody here\nperson,Letter reader\n", encoding="utf-8")
    page.goto(f"/campaigns/{campaign.id}/members/import")
    page.set_input_files("input[name=file]", str(bad))
    with page.expect_navigation():
        page.locator("form [type=submit]").last.click()
    errors = page.get_by_test_id("import-errors").inner_text()
    assert "Line 2" in errors and "Line 3" in errors
    page.screenshot(path=str(ARTIFACTS / "campaign-import-errors.png"), full_page=True)

    page.goto("/reports/campaigns?report=roi&by=campaign")
    page.wait_for_selector("#report-chart[data-rendered=true]")
    assert "Autumn mailing" in page.get_by_test_id("report-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "campaign-report-roi.png"), full_page=True)
    page.goto("/reports/campaigns?report=response&by=campaign")
    page.wait_for_selector("#report-chart[data-rendered=true]")
    page.screenshot(path=str(ARTIFACTS / "campaign-report-response.png"), full_page=True)
    page.goto("/campaigns/")
    page.screenshot(path=str(ARTIFACTS / "campaign-list.png"), full_page=True)
    assert pages.problems == []
