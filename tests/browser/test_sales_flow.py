"""A sale from lead to closed-won through the real UI in Chromium, and who may open the deal.

Only the class's product (an instructor's job) and a competitor are prepared through the services;
everything else is clicked and typed as a student would (real CSRF tokens, real redirects).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from sandbox.competitors.models import Competitor
from sandbox.extensions import db
from sandbox.products.models import Product
from sandbox.products.services import create_product
from sandbox.records.services import create_record
from tests.conftest import act_as

from .conftest import Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser

LEAD_NAME = "Zhao Min"
LEAD_COMPANY = "Ningbo Porcelain Works"
OPP_NAME = "Ningbo porcelain order"
PRODUCT_CODE = "TEA-01"
PRODUCT_NAME = "Longjing gift box"
LIST_PRICE = Decimal("1250.00")
COMPETITOR = "Rival Porcelain Ltd"
STAGE_LABELS = ["Qualification", "Needs analysis", "Value proposition", "Proposal", "Negotiation", "Closed won"]


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _prepare(classroom: Any) -> None:
    """The instructor's product for class A and the student's competitor record."""
    act_as(classroom.user("teacher"))
    create_product(Product, {"class_id": classroom.classes["A"].id, "code": PRODUCT_CODE, "name": PRODUCT_NAME,
                             "list_price": LIST_PRICE, "active": True})
    db.session.commit()
    act_as(classroom.user("studentA"))
    create_record(Competitor, {"name": COMPETITOR})
    db.session.commit()
    act_as(None)


@pytest.mark.browser
def test_lead_to_closed_won_and_who_sees_the_deal(pages: Pages, classroom: Any) -> None:
    _prepare(classroom)
    amount = LIST_PRICE * 2

    # 1. The student creates a lead through the form.
    student = pages.new()
    assert sign_in(student, "studentA").ok
    student.goto("/leads/new")
    student.fill("input[name=name]", LEAD_NAME)
    student.fill("input[name=company]", LEAD_COMPANY)
    student.fill("input[name=email]", "zhao.min@example.com")
    student.get_by_role("button", name="Save").click()
    student.get_by_test_id("record-title").wait_for()
    assert LEAD_NAME in student.get_by_test_id("record-title").inner_text()
    lead_path = _path(student.url)
    assert re.fullmatch(r"/leads/\d+", lead_path), lead_path

    # 2. A call is logged from the activities panel; the page comes back with it listed.
    with student.expect_navigation():
        student.get_by_test_id("log-call").click()
    assert _path(student.url) == lead_path
    student.locator(".alert-success", has_text="Call logged").wait_for()
    assert "None yet." not in student.get_by_test_id("recent-events").inner_text()

    # 3. Convert: a new account, a new contact and an opportunity with an amount and a close date.
    student.get_by_test_id("convert").click()
    student.locator("select[name=account_mode]").wait_for()
    student.select_option("select[name=account_mode]", "new")
    student.select_option("select[name=contact_id]", "0")
    if not student.locator("input[name=create_opportunity]").is_checked():
        student.check("input[name=create_opportunity]")
    student.fill("input[name=opportunity_name]", OPP_NAME)
    student.fill("input[name=amount]", "800")
    student.fill("input[name=close_date]", "2030-06-30")
    with student.expect_navigation():
        student.locator("main").get_by_role("button", name="Convert").click()
    opp_path = _path(student.url)
    assert re.fullmatch(r"/opportunities/\d+", opp_path), (opp_path, student.inner_text("main"))
    student.locator(".alert-success", has_text="Lead converted").wait_for()
    assert OPP_NAME in student.get_by_test_id("record-title").inner_text()

    # 4. A product line (two at the list price) and a competitor through the inline forms. Their pickers come
    # with the placeholder alone and are filled when a form is reached for (the pointer over it).
    lines = student.get_by_test_id("opportunity-lines")
    product_select = lines.locator("select[name=product_id]")
    assert product_select.locator("option").count() == 1
    product_select.hover()
    option = product_select.locator("option", has_text=PRODUCT_CODE)
    product_select.select_option(option.get_attribute("value"))
    lines.locator("input[name=quantity]").fill("2")
    with student.expect_navigation():
        lines.get_by_role("button", name="Add product").click()
    lines = student.get_by_test_id("opportunity-lines")
    assert PRODUCT_NAME in lines.inner_text()
    # Class A has no scenario loaded: amounts are in the default currency, yuan ("CN¥" in English).
    assert lines.get_by_test_id("lines-total").inner_text().strip() == f"CN¥{amount:,.2f}"

    competitors = student.get_by_test_id("opportunity-competitors")
    competitor_select = competitors.locator("select[name=competitor_id]")
    competitor_select.hover()
    competitor_select.select_option(competitor_select.locator("option", has_text=COMPETITOR).get_attribute("value"))
    competitors.locator("input[name=note]").fill("Cheaper, but slow delivery")
    with student.expect_navigation():
        competitors.locator("form [type=submit]").click()
    competitors = student.get_by_test_id("opportunity-competitors")
    assert COMPETITOR in competitors.inner_text()
    assert "Cheaper, but slow delivery" in competitors.inner_text()

    # 5. Stage by stage along the path, up to closed won.
    path = student.get_by_test_id("stage-path")
    for label in STAGE_LABELS:
        with student.expect_navigation():
            path.locator("button", has_text=label).click()
        if label == "Closed won":  # winning asks first (a page of its own, no JavaScript needed)
            with student.expect_navigation():
                student.get_by_test_id("confirm-won").get_by_role("button", name="Yes, mark as won").click()
        assert _path(student.url) == opp_path
        student.locator(".alert-success", has_text="Stage changed").wait_for()
    current = path.locator(".btn-primary")
    assert current.inner_text().strip() == "Closed won"
    assert path.locator("button").count() == 0  # a closed deal has no stage buttons
    assert student.get_by_role("button", name="Reopen").count() == 1

    # 6. The dashboard: the pipeline chart is drawn and the won total is the lines' amount.
    student.goto("/")
    student.wait_for_function(
        "() => document.getElementById('pipeline-chart')?.dataset.rendered === 'true'")
    assert student.locator("#pipeline-chart").get_attribute("data-rendered") == "true"
    assert student.get_by_test_id("won-total").inner_text().strip() == f"CN¥{amount:,.0f}"

    # 7. The department manager sees the deal; a peer on the same position gets the 404 page.
    manager = pages.new()
    assert sign_in(manager, "managerA").ok
    response = manager.goto(opp_path)
    assert response.status == 200
    assert OPP_NAME in manager.get_by_test_id("record-title").inner_text()

    peer = pages.new()
    assert sign_in(peer, "peerA").ok
    response = peer.goto(opp_path)
    assert response.status == 404
    assert "Not found" in peer.inner_text("main")
    assert OPP_NAME not in peer.content()

    assert not pages.problems, pages.problems
