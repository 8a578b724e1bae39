"""A class's first day through the real UI in Chromium: register, approval, a lead, who sees it.

Everything is clicked and typed as a person would (real CSRF tokens, real redirects); the page
assets come through the CDN URLs with their SRI hashes and the CSP of the app.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import PASSWORD

from .conftest import Pages

pytestmark = pytest.mark.browser

NEW_STUDENT = "chen_xiaoyu"
NEW_PASSWORD = "tea4leaves26"
LEAD_NAME = "Wang Fang"
LEAD_COMPANY = "Suzhou Silk Trading"


def sign_in(page: Any, username: str, password: str = PASSWORD) -> Any:
    """Open the sign-in page, type the credentials and press the button; returns the response."""
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Sign in").click()
    return nav.value


def open_menu_item(page: Any, menu: str, item: str) -> None:
    """Open a navbar dropdown (Bootstrap's JavaScript) and follow one of its items."""
    page.locator("nav").get_by_role("button", name=menu).or_(
        page.locator("nav").get_by_role("link", name=menu, exact=True)).first.click()
    link = page.locator(".dropdown-menu.show").get_by_role("link", name=item, exact=True)
    link.wait_for(state="visible")
    link.click()
    page.wait_for_load_state()


@pytest.mark.browser
def test_register_approve_lead_visibility_and_log(pages: Pages, classroom: Any) -> None:
    klass_a = classroom.classes["A"]
    position_a1 = classroom.positions["A1"]
    class_a_name, position_value = klass_a.name, str(position_a1.id)
    student_b = classroom.user("studentB").username

    # 1. A student registers for class A.
    student = pages.new()
    student.goto("/auth/register")
    student.fill("input[name=username]", NEW_STUDENT)
    student.fill("input[name=display_name]", "Chen Xiaoyu")
    student.fill("input[name=student_number]", "2026001")
    student.fill("input[name=email]", "chen.xiaoyu@example.com")
    student.fill("input[name=password]", NEW_PASSWORD)
    student.fill("input[name=confirm]", NEW_PASSWORD)
    student.select_option("select[name=class_id]", label=class_a_name)
    student.get_by_role("button", name="Register").click()
    student.get_by_role("heading", name="Registration received").wait_for()
    assert class_a_name in student.inner_text("main")

    # 2. Signing in before approval is refused with a clear message.
    student.get_by_role("link", name="Go to sign-in").click()
    response = sign_in(student, NEW_STUDENT, NEW_PASSWORD)
    assert response.status == 401
    assert "awaits approval" in student.inner_text("main")
    assert student.url.endswith("/auth/login")

    # 3. The instructor approves the student onto the salesperson position of department A1.
    teacher = pages.new()
    response = sign_in(teacher, "teacher")
    assert response.ok, (response.status, teacher.inner_text("main"))
    open_menu_item(teacher, "Classroom", "Approvals")
    assert teacher.url.endswith("/admin/approvals")
    row = teacher.get_by_test_id("pending-table").locator("tr", has_text=NEW_STUDENT)
    assert class_a_name in row.inner_text()
    teacher.get_by_role("checkbox", name=NEW_STUDENT).check()
    teacher.select_option("select[name=decision]", "approve")
    teacher.select_option("select[name=position_id]", position_value)
    teacher.select_option("select[name=role]", "student")
    teacher.get_by_role("button", name="Apply to the selected users").click()
    teacher.locator(".alert-success", has_text="approved").wait_for()
    assert NEW_STUDENT not in teacher.get_by_test_id("pending-table").inner_text()

    # 4. The student signs in, sees the dashboard chart drawn by Chart.js, and creates a lead.
    response = sign_in(student, NEW_STUDENT, NEW_PASSWORD)
    assert response.ok and re.search(r"/$", student.url), student.url
    student.wait_for_function(
        "() => { const c = document.querySelectorAll('canvas.js-chart');"
        " return c.length > 0 && [...c].every((x) => x.dataset.rendered === 'true'); }")
    status_chart = student.get_by_label("My leads by status")
    assert status_chart.get_attribute("data-rendered") == "true"
    box = status_chart.bounding_box()
    assert box and box["width"] > 50 and box["height"] > 50
    # Bootstrap's stylesheet arrived (SRI verified, CSP allowed): the navbar is styled.
    assert student.locator("nav.navbar").evaluate("e => getComputedStyle(e).display") == "flex"
    student.locator("nav").get_by_role("link", name="Leads", exact=True).click()
    student.get_by_test_id("new-record").click()
    student.fill("input[name=name]", LEAD_NAME)
    student.fill("input[name=company]", LEAD_COMPANY)
    student.fill("input[name=phone]", "+86 512 6523 0000")
    student.select_option("select[name=status]", "contacted")
    student.get_by_role("button", name="Save").click()
    student.get_by_test_id("record-title").wait_for()
    assert LEAD_NAME in student.get_by_test_id("record-title").inner_text()
    assert "You own this record" in student.get_by_test_id("why-visible").inner_text()
    lead_path = re.sub(r"^https?://[^/]+", "", student.url)
    assert re.fullmatch(r"/leads/\d+", lead_path), lead_path

    # 5. A student of class B who opens the lead's address gets the 404 page.
    other = pages.new()
    assert sign_in(other, student_b).ok
    response = other.goto(lead_path)
    assert response.status == 404
    assert "Not found" in other.inner_text("main")
    assert LEAD_NAME not in other.content()
    other.locator("nav").get_by_role("link", name="Leads", exact=True).click()
    assert LEAD_NAME not in other.get_by_test_id("record-table").inner_text()

    # 6. The department manager above the position sees it in the list and on its page, and why.
    manager = pages.new()
    assert sign_in(manager, "managerA").ok
    manager.locator("nav").get_by_role("link", name="Leads", exact=True).click()
    table = manager.get_by_test_id("record-table")
    assert LEAD_COMPANY in table.locator("tr", has_text=LEAD_NAME).inner_text()
    table.get_by_role("link", name=LEAD_NAME).click()
    manager.get_by_test_id("record-title").wait_for()
    assert manager.url.endswith(lead_path)
    why = manager.get_by_test_id("why-visible").inner_text()
    assert "below yours" in why and "subordinates" in why, why

    # 7. The lead's creation is in the instructor's operation log, by the student.
    # The click only starts the navigation: wait for the log page before counting its rows.
    with teacher.expect_navigation(url=re.compile(r"/log/")):
        teacher.locator("nav").get_by_role("link", name="Operation log").click()
    log_row = teacher.get_by_test_id("log-table").locator("tr", has_text=f"created lead {LEAD_NAME}")
    log_row.first.wait_for()
    assert log_row.count() == 1
    assert "Chen Xiaoyu" in log_row.inner_text()

    assert not pages.problems, pages.problems


@pytest.mark.browser
def test_language_links_switch_the_interface(pages: Pages, app: Any) -> None:
    page = pages.new(locale="en-US")
    page.goto("/auth/login")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("button", name="Sign in").count() == 1

    page.locator("nav").get_by_role("link", name="简体中文").click()
    page.wait_for_load_state()
    assert page.url.endswith("/auth/login")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    submit = page.locator("form [type=submit]")
    assert (submit.get_attribute("value") or submit.inner_text()).strip() == "登录"
    assert "登录" in page.title()

    # The choice is kept (a cookie) on the next page too.
    page.goto("/auth/register")
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    page.locator("nav").get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto("/auth/login")
    submit = page.locator("form [type=submit]")
    assert (submit.get_attribute("value") or submit.inner_text()).strip() == "Sign in"

    assert not pages.problems, pages.problems


@pytest.mark.browser
def test_saving_the_profile_keeps_the_language_in_use(pages: Pages, classroom: Any) -> None:
    # A student who never chose a language works in English (the browser's); saving the profile
    # for another reason must not switch the interface to Chinese behind their back.
    page = pages.new(locale="en-US")
    assert sign_in(page, "studentA").ok
    page.get_by_test_id("user-menu").click()
    page.locator(".dropdown-menu.show").get_by_role("link", name="Profile and language").click()
    assert page.locator("select[name=locale]").input_value() == "en"
    page.fill("input[name=display_name]", "Student A")
    page.get_by_role("button", name="Save").click()
    page.locator(".alert-success").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("select[name=locale]").input_value() == "en"
    assert not pages.problems, pages.problems
