"""Knowledge base, documents and stock through the real UI in Chromium (issue 11).

A student suggests an article through the menu and the form, the instructor publishes it, a classmate
then reads it rendered; a student files a document and uploads two versions; the instructor moves
stock, is stopped below zero next to the field, and reads the low-stock alarm. Each page is saved under
test-artifacts/ for review.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from sandbox.extensions import db
from sandbox.products.models import Product
from sandbox.products.services import create_product
from tests.conftest import act_as

from .conftest import ARTIFACTS, Pages
from .test_classroom_flow import open_menu_item, sign_in

pytestmark = pytest.mark.browser

TITLE = "Gas smell at night"
BODY = ("## What to do\n\n1. Open the **windows**.\n2. Call the hotline.\n\n"
        "<script>alert('x')</script>\n[bad](javascript:alert(1))")


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_a_student_suggests_an_article_the_instructor_publishes(pages: Pages, classroom: Any) -> None:
    student = pages.new()
    assert sign_in(student, "studentA").ok
    open_menu_item(student, "Marketing and service", "Knowledge base")
    student.get_by_test_id("new-record").click()
    student.fill("input[name=title]", TITLE)
    student.select_option("select[name=category]", label="FAQ")
    student.fill("input[name=keywords]", "smell, leak")
    student.fill("textarea[name=body]", BODY)
    with student.expect_navigation():
        student.get_by_role("button", name="Save").click()
    assert re.search(r"/knowledge/\d+$", student.url)
    article_path = re.sub(r"^https?://[^/]+", "", student.url)
    assert student.get_by_test_id("article-status").inner_text() == "Suggested"
    body = student.get_by_test_id("article-body")
    assert body.locator("strong").inner_text() == "windows"
    assert body.locator("script").count() == 0 and "<script>" in body.inner_text()
    assert body.locator("a").count() == 0  # the javascript: link is not a link
    assert student.get_by_role("button", name="Publish").count() == 0

    # A classmate does not find the suggestion yet.
    peer = pages.new()
    assert sign_in(peer, "peerA").ok
    assert peer.goto(article_path).status == 404

    # The instructor sees it waiting and publishes it.
    teacher = pages.new()
    assert sign_in(teacher, "teacher").ok
    teacher.goto("/knowledge/")
    assert teacher.get_by_test_id("awaiting").inner_text() == "1"
    teacher.get_by_test_id("suggested-tab").click()
    teacher.get_by_role("link", name=TITLE).click()
    with teacher.expect_navigation():
        teacher.get_by_role("button", name="Publish").click()
    assert teacher.get_by_test_id("article-status").inner_text() == "Published"
    assert "Article published" in teacher.content()
    shot(teacher, "knowledge-article")

    # Now the classmate reads it, rendered.
    assert peer.goto(article_path).status == 200
    assert peer.get_by_test_id("article-body").locator("h2").inner_text() == "What to do"
    peer.goto("/knowledge/?q=smell")
    assert peer.get_by_role("link", name=TITLE).count() == 1
    shot(peer, "knowledge-list")
    assert not pages.problems, pages.problems


@pytest.mark.browser
def test_document_versions_and_stock_pages(pages: Pages, classroom: Any, tmp_path: Any) -> None:
    act_as(classroom.user("teacher"))
    valve = create_product(Product, {"class_id": classroom.classes["A"].id, "code": "VAL-01", "name": "Meter valve",
                                     "list_price": 80, "active": True, "reorder_level": 10})
    create_product(Product, {"class_id": classroom.classes["A"].id, "code": "GSK-02", "name": "Gasket",
                             "list_price": 2, "active": True, "reorder_level": 50, "stock_on_hand": 12})
    db.session.commit()
    act_as(None)

    student = pages.new()
    assert sign_in(student, "studentA").ok
    open_menu_item(student, "Marketing and service", "Documents")
    student.fill("#folder-name", "Manuals")
    with student.expect_navigation():
        student.get_by_role("button", name="Create folder").click()
    student.get_by_test_id("new-record").click()
    student.fill("input[name=title]", "Boiler manual")
    student.select_option("select[name=folder_id]", label="Manuals")
    student.fill("textarea[name=description]", "Model X boiler, installation and service.")
    with student.expect_navigation():
        student.get_by_role("button", name="Save").click()
    for name, text in (("manual-v1.txt", "first"), ("manual-v2.txt", "second edition")):
        path = tmp_path / name
        path.write_text(text)
        student.set_input_files("#version-file", str(path))
        with student.expect_navigation():
            student.get_by_test_id("version-form").get_by_role("button", name="Upload", exact=True).click()
    rows = student.get_by_test_id("version-table").locator("tbody tr")
    assert rows.count() == 2
    assert "manual-v2.txt" in rows.nth(0).inner_text() and "current" in rows.nth(0).inner_text()
    assert rows.nth(1).inner_text().startswith("1")
    shot(student, "document-versions")
    student.goto("/documents/")
    shot(student, "documents-list")

    teacher = pages.new()
    assert sign_in(teacher, "teacher").ok
    teacher.goto(f"/products/{valve.id}")
    form = teacher.get_by_test_id("stock-form")
    form.locator("select[name=kind]").select_option("in")
    form.locator("input[name=quantity]").fill("6")
    form.locator("input[name=to_location]").fill("main")
    with teacher.expect_navigation():
        form.get_by_role("button", name="Record movement").click()
    form = teacher.get_by_test_id("stock-form")
    form.locator("select[name=kind]").select_option("transfer")
    form.locator("input[name=quantity]").fill("2")
    form.locator("input[name=from_location]").fill("main")
    form.locator("input[name=to_location]").fill("van 1")
    with teacher.expect_navigation():
        form.get_by_role("button", name="Record movement").click()
    form = teacher.get_by_test_id("stock-form")
    form.locator("select[name=kind]").select_option("out")
    form.locator("input[name=quantity]").fill("9")
    form.locator("input[name=from_location]").fill("main")
    with teacher.expect_navigation():
        form.get_by_role("button", name="Record movement").click()
    assert "cannot go below zero" in teacher.get_by_test_id("stock-form").inner_text()
    levels = teacher.get_by_test_id("stock-levels").inner_text()
    assert "main\t4" in levels and "van 1\t2" in levels
    shot(teacher, "product-stock")
    teacher.goto("/products/low-stock")
    assert teacher.get_by_test_id("low-stock-count").inner_text() == "2"
    shot(teacher, "low-stock")
    assert not pages.problems, pages.problems
