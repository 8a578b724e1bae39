"""Forecasts in Chromium: a manager sets a quota, a student submits a forecast and sees it against what closed,
the manager reads the roll-up and drills down to the won deals of one member."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from sandbox.clock import today
from sandbox.fiscal import current_quarter

from .conftest import ARTIFACTS, Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.browser
def test_quota_submit_and_roll_up(pages: Pages, classroom: Any, create_opportunity: Any) -> None:
    student = classroom.user("studentA")
    create_opportunity(student, name="Tea hall", stage="closed_won", amount=Decimal(4000), close_date=today())
    create_opportunity(student, name="Tea house", stage="negotiation", amount=Decimal(1000), close_date=today())
    quarter = current_quarter().key

    manager = pages.new()
    assert sign_in(manager, "managerA").ok
    manager.goto("/forecasts/quotas")
    manager.get_by_label("Salesperson (username)").fill("studentA")
    manager.get_by_label("Quota amount").fill("10000")
    manager.get_by_role("button", name="Set quota").click()
    assert "is now" in manager.locator(".alert-success").inner_text()

    seller = pages.new()
    assert sign_in(seller, "studentA").ok
    seller.goto("/forecasts/")
    assert seller.get_by_test_id("figure-quota_percent").inner_text().strip() == "40.0 %"
    seller.wait_for_function("() => document.querySelector('.progress-bar').style.width === '40%'")
    seller.get_by_test_id("forecast-submit").click()
    assert f"forecast for {quarter} was submitted" in seller.locator(".alert-success").inner_text()
    assert "5,000.00" in seller.get_by_test_id("submitted-commit").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    seller.screenshot(path=str(ARTIFACTS / "forecast-student.png"), full_page=True)

    manager.goto("/forecasts/")
    row = manager.locator(f'[data-testid="forecast-team"] tr[data-key="{student.id}"]')
    assert "25.0 %" not in row.inner_text() and "40.0 %" in row.inner_text()
    row.locator("td").nth(3).get_by_role("link").click()  # closed won
    manager.wait_for_url("**/opportunities/**")
    assert manager.get_by_text("Tea hall").count() == 1 and manager.get_by_text("Tea house").count() == 0
    assert pages.problems == []
