"""A late joiner in Chromium: the instructor approves a pending student into a class whose scenario is already
running; the student signs in and finds their own generated leads and their objectives checklist."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox.classroom.runs.services import load_scenario
from sandbox.extensions import db
from tests.conftest import PASSWORD, act_as

from .conftest import ARTIFACTS, Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.browser
def test_a_student_approved_into_a_running_class_finds_their_book_and_checklist(pages: Pages, classroom: Any) -> None:
    klass = classroom.classes["A"]
    act_as(classroom.user("teacher"))
    load_scenario(klass, "sales-basics")  # the class started the scenario before pendingA was approved
    db.session.commit()
    act_as(None)
    pending = classroom.user("pendingA")

    # 1. The instructor approves pendingA onto A1's salesperson, picked by its path.
    teacher = pages.new()
    assert sign_in(teacher, "teacher").ok
    teacher.goto("/admin/approvals")
    teacher.get_by_role("checkbox", name=pending.username).check()
    teacher.select_option("select[name=decision]", "approve")
    teacher.select_option("select[name=position_id]", label="Class A › A1 › Sales")
    teacher.select_option("select[name=role]", "student")
    with teacher.expect_navigation():
        teacher.get_by_role("button", name="Apply to the selected users").click()
    flash = teacher.locator(".alert-success", has_text="approved").inner_text()
    assert "approved onto Class A › A1 › Sales" in flash
    assert re.search(r"joined the running scenario with their books \([\d,]+ records\)", flash), flash

    # 2. The student signs in and finds leads of their own, generated for them.
    student = pages.new()
    assert sign_in(student, pending.username, PASSWORD).ok
    student.goto("/leads/")
    rows = student.locator("table tbody tr")
    assert rows.count() > 0 and "No " not in rows.first.inner_text()
    with student.expect_navigation():
        rows.first.locator("a").first.click()
    assert re.search(r"/leads/\d+$", student.url), student.url
    assert pending.display_name in student.inner_text("main")  # the owner: the student themselves

    # 3. Their checklist lists the run's objectives, nothing done yet.
    student.goto("/me/progress")
    checklist = student.get_by_test_id("checklist")
    items = checklist.locator("[data-objective]")
    assert items.count() > 0
    assert {items.nth(i).get_attribute("data-state") for i in range(items.count())} == {"todo"}
    assert student.get_by_test_id("scenario-title").inner_text().strip()

    # 4. The gradebook lists them with the class and flags nobody as without a book.
    teacher.goto(f"/grading/?class_id={klass.id}")
    assert teacher.locator(f"tr[data-student={pending.username}]").count() == 1
    assert teacher.get_by_test_id("no-book").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    student.screenshot(path=str(ARTIFACTS / "late-joiner-progress.png"), full_page=True)
    assert pages.problems == []
