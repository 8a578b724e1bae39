"""A manager's sales report in Chromium: switch to the department view, drill down from a bar, export XLSX.

The chart is drawn by Chart.js from the CDN (SRI, CSP as in production); the bar is clicked where
Chart.js drew it, and the list it opens must hold exactly the deals behind the bar.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from .conftest import Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


def click_first_bar(page: Any) -> None:
    """Click the report chart's first bar where Chart.js drew it, and wait for the page it opens."""
    page.wait_for_selector("#report-chart[data-rendered=true]")
    point = page.evaluate("""() => {
        const canvas = document.getElementById("report-chart");
        const bar = canvas.chart.getDatasetMeta(0).data[0];
        const box = canvas.getBoundingClientRect();
        return {x: box.left + bar.x, y: box.top + (bar.y + bar.base) / 2};
    }""")
    with page.expect_navigation():
        page.mouse.click(point["x"], point["y"])


@pytest.mark.browser
def test_manager_sales_report_department_view_drill_down_and_export(pages: Pages, classroom: Any,
                                                                       create_opportunity: Any) -> None:
    u = classroom.user
    for owner, name, stage, amount in (("studentA", "Tea order", "closed_won", 1000),
                                       ("peerA", "Cups order", "closed_won", 200),
                                       ("studentA", "Open deal", "proposal", 5000),
                                       ("studentA2", "Other department", "closed_won", 400)):
        create_opportunity(u(owner), name=name, stage=stage, amount=Decimal(amount), close_date=date(2030, 2, 10))
    department = classroom.departments["A1"]
    department_id, department_name = str(department.id), department.name

    page = pages.new()
    sign_in(page, u("managerA").username)
    page.goto("/reports/")
    with page.expect_navigation():
        page.get_by_test_id("family-sales").get_by_role("link", name="Sales", exact=True).click()
    assert page.get_by_test_id("report-title").inner_text() == "Sales analysis (closed sales)"

    # The department view: one bar for the manager's department (another department's deal is not theirs).
    page.select_option("#by", "department")
    with page.expect_navigation():
        page.get_by_test_id("report-apply").click()
    assert "by=department" in page.url
    rows = page.locator('[data-testid="report-table"] tbody tr')
    assert rows.count() == 1
    assert rows.first.get_attribute("data-key") == department_id
    assert department_name in rows.first.inner_text() and "1,200.00" in rows.first.inner_text()

    # Click the bar where Chart.js drew it: the list of the deals behind it opens.
    click_first_bar(page)
    assert "/opportunities/" in page.url and "report=sales.closed" in page.url
    table = page.get_by_test_id("record-table").inner_text()
    assert "Tea order" in table and "Cups order" in table
    assert "Open deal" not in table and "Other department" not in table
    page.go_back()
    page.wait_for_selector('[data-testid="report-table"]')

    # Export the table as XLSX: the department's row and the total, as numbers.
    with page.expect_download() as download:
        page.get_by_test_id("report-export-xlsx").click()
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1][0] == department_name and float(values[1][1]) == 1200.0 and values[1][2] == 2
    assert float(values[-1][1]) == 1200.0
    assert pages.problems == []
