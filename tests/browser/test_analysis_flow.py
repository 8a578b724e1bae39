"""The issue's walk through analysis as one manager would do it, in Chromium, end to end: open the sales report,
switch to the department view, drill down from a bar to the list, export XLSX, open the calendar, drag an
event to another day, and submit a forecast. Each step is checked against the database, not only the page."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from sandbox.activities.models import Activity
from sandbox.clock import today
from sandbox.extensions import db
from sandbox.fiscal import current_quarter
from sandbox.forecasts.models import ForecastSubmission
from tests import helpers

from .conftest import Pages
from .test_calendar import _drag, _event_in
from .test_classroom_flow import sign_in
from .test_reports_flow import click_first_bar

pytestmark = pytest.mark.browser


@pytest.mark.browser
def test_a_manager_analyses_plans_and_forecasts(pages: Pages, classroom: Any, create_opportunity: Any,
                                                create_activity: Any) -> None:
    u = classroom.user
    for owner, name, stage, amount in (("studentA", "Tea order", "closed_won", 1000),
                                       ("peerA", "Cups order", "closed_won", 200),
                                       ("managerA", "Kettle order", "negotiation", 3000),
                                       ("studentA2", "Other department", "closed_won", 400)):
        create_opportunity(u(owner), name=name, stage=stage, amount=Decimal(amount), close_date=today())
    meeting = create_activity(u("managerA"), kind="event", subject="Team review", due_date=None,
                              start_at=datetime(2030, 1, 8, 2), end_at=datetime(2030, 1, 8, 3))
    department = classroom.departments["A1"]

    page = pages.new()
    assert sign_in(page, u("managerA").username).ok

    # 1. The sales report, in the department view.
    page.goto("/reports/sales")
    page.select_option("#by", "department")
    with page.expect_navigation():
        page.get_by_test_id("report-apply").click()
    row = page.locator('[data-testid="report-table"] tbody tr')
    assert row.count() == 1 and row.first.get_attribute("data-key") == str(department.id)
    assert "1,200.00" in row.first.inner_text()  # studentA + peerA; studentA2's department is not the manager's

    # 2. Drill down from the bar Chart.js drew to the list of exactly those deals.
    click_first_bar(page)
    listed = page.get_by_test_id("record-table").inner_text()
    assert "Tea order" in listed and "Cups order" in listed
    assert "Kettle order" not in listed and "Other department" not in listed
    page.go_back()
    page.wait_for_selector('[data-testid="report-table"]')

    # 3. Export XLSX: the department's row as numbers, and the export is in the log.
    with page.expect_download() as download:
        page.get_by_test_id("report-export-xlsx").click()
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1][0] == department.name and float(values[1][1]) == 1200.0
    assert len(helpers.entries("report.export")) == 1

    # 4. The calendar: drag the manager's meeting from Tuesday to Thursday; the change is logged.
    page.goto("/calendar/?view=month&date=2030-01-08")
    page.locator("#calendar[data-ready='1']").wait_for()
    source = _event_in(page, "2030-01-08", "Team review")
    source.wait_for()
    _drag(page, source, page.locator('td.fc-daygrid-day[data-date="2030-01-10"] .fc-daygrid-day-frame'))
    page.locator("#calendar-message[data-kind='success']").wait_for()
    db.session.expire_all()
    moved = db.session.get(Activity, meeting.id)
    assert moved is not None and moved.start_at == datetime(2030, 1, 10, 2)
    assert any(e.object_id == meeting.id for e in helpers.entries("activity.update"))

    # 5. Submit the forecast for the current quarter: one snapshot, its commit counts the manager's deal.
    page.goto("/forecasts/")
    page.get_by_test_id("forecast-submit").click()
    assert "was submitted" in page.locator(".alert-success").inner_text()
    db.session.expire_all()
    quarter = current_quarter()
    submitted = db.session.scalars(select(ForecastSubmission).where(
        ForecastSubmission.owner_id == u("managerA").id, ForecastSubmission.fiscal_year == quarter.year,
        ForecastSubmission.quarter == quarter.quarter).execution_options(skip_visibility=True)).all()
    assert len(submitted) == 1 and submitted[0].commit == Decimal("3000.00")
    assert pages.problems == []
