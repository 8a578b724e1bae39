"""The teaching loop in Chromium: the instructor loads a scenario, a student works and sees the checklist tick,
the instructor reads the points in the gradebook and exports them."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest

from .conftest import Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


def _cell(page: Any, student: str, objective: str) -> str:
    return page.locator(f"tr[data-student={student}] td[data-objective={objective}]").inner_text().strip()


@pytest.mark.browser
def test_load_work_tick_grade_export(pages: Pages, classroom: Any) -> None:
    klass = classroom.classes["A"]

    # 1. The instructor loads Sales basics into class A from /scenarios/.
    teacher = pages.new()
    assert sign_in(teacher, "teacher").ok
    teacher.goto(f"/scenarios/?class_id={klass.id}")
    form = teacher.get_by_test_id("load-form")
    form.locator("select[name=scenario]").select_option("sales-basics")
    form.locator("input[name=confirm]").check()
    with teacher.expect_navigation():
        form.get_by_role("button", name=re.compile("Load into")).click()
    flash = teacher.locator(".alert-success", has_text="Loaded sales-basics into Class A").inner_text()
    assert re.search(r"[\d,]+ records for 4 students in [\d.]+ s", flash), flash
    assert "current" in teacher.get_by_test_id("runs-table").inner_text()

    # 2. The student finds their own company data and an empty checklist.
    student = pages.new()
    assert sign_in(student, "studentA").ok
    student.goto("/me/progress")
    item = student.locator("[data-objective=convert-leads]")
    assert item.get_attribute("data-state") == "todo"
    assert "0 of 3" in item.get_by_test_id("reason").inner_text()

    # 3. They open one of their generated leads, log a call and convert it.
    student.goto("/leads/?status=new")
    with student.expect_navigation():
        student.locator("table tbody tr a").first.click()
    lead_path = re.sub(r"^https?://[^/]+", "", student.url)
    assert re.fullmatch(r"/leads/\d+", lead_path), lead_path
    with student.expect_navigation():
        student.get_by_test_id("log-call").click()
    student.locator(".alert-success", has_text="Call logged").wait_for()
    student.get_by_test_id("convert").click()
    student.locator("select[name=account_mode]").wait_for()
    student.select_option("select[name=account_mode]", "new")
    student.select_option("select[name=contact_id]", "0")
    if student.locator("input[name=create_opportunity]").is_checked():
        student.uncheck("input[name=create_opportunity]")
    with student.expect_navigation():
        student.locator("main").get_by_role("button", name="Convert").click()
    student.locator(".alert-success", has_text="Lead converted").wait_for()

    # 4. The checklist ticks: call-then-convert is done, conversions are one third of the way.
    student.goto("/me/progress")
    done = student.locator("[data-objective=call-before-convert]")
    assert done.get_attribute("data-state") == "done"
    assert done.get_by_test_id("points").inner_text().strip() == "10 / 10"
    partial = student.locator("[data-objective=convert-leads]")
    assert partial.get_attribute("data-state") == "partial"
    assert "1 of 3" in partial.get_by_test_id("reason").inner_text()
    assert student.locator("[data-objective=log-calls]").get_attribute("data-state") == "partial"

    # 5. The instructor sees the points in the gradebook and exports them.
    teacher.goto(f"/grading/?class_id={klass.id}")
    assert _cell(teacher, "studentA", "call-before-convert") == "10"
    assert _cell(teacher, "studentA", "convert-leads") == "5"
    assert _cell(teacher, "peerA", "convert-leads") in ("0", "–", "—")
    with teacher.expect_download() as download:
        teacher.get_by_test_id("export-csv").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()
    rows = {r["Username"]: r for r in csv.DictReader(io.StringIO(text))}
    assert {"studentA", "peerA", "managerA", "studentA2"} == set(rows)
    row = rows["studentA"]
    assert row["Call first: log a call on a lead before converting it (10)"] == "10"
    assert row["Convert 3 leads (15)"] == "5"
    assert float(row["Total"]) >= 15 and row["Max"] == "100"
