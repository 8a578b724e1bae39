"""A level-1 complaint in Chromium: the student takes it from received to agreed, is stopped without the
service-supervision opinion, the instructor is notified and opens it, the student links a knowledge article
and closes it with a satisfaction score. Screenshots of the pages under test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sandbox.cases import services
from sandbox.cases.models import Case
from sandbox.extensions import db
from sandbox.knowledge.models import Article
from sandbox.notifications.models import Notification
from sandbox.records.services import create_record
from tests.conftest import PASSWORD, act_as

from .conftest import ARTIFACTS, Pages

pytestmark = pytest.mark.browser


def _sign_in(page: Any, username: str) -> None:
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.press("input[name=password]", "Enter")


def _received_complaint(classroom: Any) -> tuple[Case, Article]:
    """A level-1 complaint of studentA at "received", and a published article of the class."""
    student = classroom.user("studentA")
    act_as(classroom.user("managerA"))
    article = create_record(Article, {"title": "Gas smell: what to check", "body": "Close the valve.",
                                      "status": "published"})
    act_as(student)
    case = services.create_case("complaint", {"subject": "Gas smell in Lane 5", "level": 1, "channel": "phone",
                                              "target": "company"})
    services.transition_case(case, "assigned", {"assignee_id": student.id})
    services.transition_case(case, "received")
    db.session.commit()
    act_as(None)
    return case, article


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"case-{name}.png"), full_page=True)


@pytest.mark.browser
def test_level1_complaint_from_received_to_closed(pages: Pages, classroom: Any) -> None:
    case, article = _received_complaint(classroom)
    student = pages.new()
    _sign_in(student, "studentA")
    student.goto(f"/cases/{case.id}")
    assert student.get_by_test_id("current-state").inner_text() == "Received"
    _shot(student, "detail-received")

    student.get_by_test_id("move-investigated").click()
    student.fill("textarea[name=investigation]", "The riser leaks at the second floor.")
    student.get_by_role("button", name="Investigate").click()
    assert student.get_by_test_id("current-state").inner_text() == "Investigated"

    # Agreed without the supervision opinion: stopped, the rule next to the field, nothing saved.
    student.get_by_test_id("move-agreed").click()
    student.fill("textarea[name=measure]", "Replaced the riser")
    student.fill("textarea[name=result]", "The customer accepts")
    student.get_by_role("button", name="Agree with customer").click()
    feedback = student.locator(".invalid-feedback")
    assert "requires Service-supervision opinion when Complaint level = 1" in feedback.inner_text()
    _shot(student, "refused-without-opinion")
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "investigated"
    student.fill("textarea[name=supervision_opinion]", "Supervision agrees with the measure.")
    student.get_by_role("button", name="Agree with customer").click()
    assert student.get_by_test_id("current-state").inner_text() == "Agreed with customer"

    # The instructor was notified of the level-1 complaint (the inbox lists these rows) and opens the case.
    teacher = classroom.user("teacher")
    notes = db.session.scalars(select(Notification).where(Notification.kind == "complaint.level1")).all()
    assert {(n.user_id, n.record_type, n.record_id) for n in notes} >= {(teacher.id, "case", case.id)}
    instructor = pages.new()
    _sign_in(instructor, "teacher")
    # The inbox shows the level-1 complaint; its link opens the case.
    instructor.get_by_test_id("nav-notifications").click()
    item = instructor.get_by_test_id("notification").filter(has_text=case.subject).first
    assert item.get_attribute("data-unread") == "yes"
    item.get_by_role("link", name=case.subject).click()
    instructor.wait_for_url(f"**/cases/{case.id}")
    assert instructor.get_by_test_id("current-state").inner_text() == "Agreed with customer"
    assert "Supervision agrees with the measure." in instructor.get_by_test_id("case-history").inner_text()

    # The student links the article and closes with a satisfaction score.
    student.get_by_test_id("article-picker").select_option(str(article.id))
    student.get_by_test_id("link-article").click()
    assert student.get_by_test_id("solved-by-article").inner_text() == "Gas smell: what to check"
    student.get_by_test_id("move-closed").click()
    student.select_option("select[name=satisfaction]", "5")
    student.get_by_role("button", name="Close").click()
    assert student.get_by_test_id("current-state").inner_text() == "Closed (locked)"
    assert student.get_by_test_id("locked").is_visible()
    _shot(student, "closed")
    db.session.expire_all()
    closed = db.session.get(Case, case.id)
    assert (closed.state, closed.satisfaction, closed.solved_by_id) == ("closed", 5, article.id)
    assert closed.closed_at is not None and closed.resolved_at is not None
    assert pages.problems == []
