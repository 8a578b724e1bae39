"""Customer analytics in Chromium: the segment chart is drawn from the page's JSON (no inline script), a click on
a bar narrows the table to that segment, and the student saves the segment as a tag on its accounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests import helpers

from .conftest import Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.browser
def test_segment_chart_drill_and_save_tag(pages: Pages, classroom: Any, create_account: Any,
                                           create_opportunity: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sandbox.clock.today", lambda: date(2030, 6, 30))
    student = classroom.user("studentA")
    made = {}
    for name, deals in (("Acme", [(date(2030, 6, 20), 1000), (date(2030, 5, 1), 2000), (date(2030, 3, 1), 1500)]),
                        ("Birch", [(date(2030, 6, 10), 300)]),
                        ("Cedar", [(date(2029, 12, 31), 5000), (date(2029, 11, 1), 5000)])):
        made[name] = create_account(student, name=name)
        for i, (day, amount) in enumerate(deals):
            create_opportunity(student, name=f"{name} {i}", account_id=made[name].id, stage="closed_won",
                               amount=Decimal(amount), close_date=day)
    page = pages.new()
    assert sign_in(page, "studentA").ok
    page.goto("/reports/customers")
    page.wait_for_function("() => document.getElementById('segment-chart')?.dataset.rendered === 'true'")
    bars = page.evaluate("() => document.getElementById('segment-chart').chart.data.datasets[0].data")
    assert sum(bars) == 3
    assert page.evaluate("() => document.getElementById('segment-scatter').dataset.rendered") == "true"
    # Acme: most recent, most deals, not the most money (R 5, F 5, M 3 of 1 / 3 / 5): R and F high, M not.
    index = page.evaluate("""() => {
        const chart = document.getElementById('segment-chart').chart;
        return chart.data.labels.indexOf('General value'); }""")
    assert bars[index] == 1
    # Click the bar: the page narrows the table to that segment.
    box = page.evaluate(f"""() => {{
        const chart = document.getElementById('segment-chart').chart;
        const bar = chart.getDatasetMeta(0).data[{index}];
        const rect = chart.canvas.getBoundingClientRect();
        return {{x: rect.left + bar.x, y: rect.top + (bar.y + bar.base) / 2}}; }}""")
    with page.expect_navigation():
        page.mouse.click(box["x"], box["y"])
    assert "segment=general_value" in page.url
    table = page.get_by_test_id("report-table")
    assert "Acme" in table.inner_text() and "Cedar" not in table.inner_text()
    form = page.get_by_test_id("save-segment-general_value")
    form.locator("input[name=tag]").fill("Loyal")
    with page.expect_navigation():
        form.get_by_role("button", name="Save tag").click()
    assert "Tag “Loyal” added to 1 account." in page.locator(".alert-success").inner_text()
    assert helpers.fresh(made["Acme"]).tags == "Loyal"
    assert helpers.fresh(made["Birch"]).tags is None
    page.goto("/reports/customers?report=clv")
    page.wait_for_function("() => document.getElementById('clv-chart')?.dataset.rendered === 'true'")
    assert page.evaluate("() => document.getElementById('clv-chart').chart.data.labels.length") == 3
    assert pages.problems == []
