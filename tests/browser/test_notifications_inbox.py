"""The inbox in Chromium: a transfer shows up in the badge, the link opens the record, mark read and mark all read
clear the badge; the page in Chinese. Screenshots go to test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.extensions import db
from sandbox.notifications.services import notify
from sandbox.oplog import operation
from sandbox.records.services import transfer_record
from tests.conftest import act_as

from .conftest import ARTIFACTS, Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


@operation("test.notify")
def _raise(user_id: int, kind: str, **params: Any) -> None:
    notify([user_id], kind, **params)


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_inbox_badge_link_and_mark_read(pages: Pages, classroom: Any, create_lead: Any) -> None:
    a, peer = classroom.user("studentA"), classroom.user("peerA")
    lead = create_lead(peer, name="Zhao Min", company="Ningbo Porcelain")
    act_as(peer)
    transfer_record(lead, a.id)
    db.session.commit()
    act_as(None)
    _raise(a.id, "task.overdue", label="Call back Qian", due="2030-01-02")
    _raise(a.id, "complaint.level1", label="Gas smell at No. 5", level=1)
    db.session.commit()

    page = pages.new()
    assert sign_in(page, "studentA").ok
    assert page.get_by_test_id("unread-badge").inner_text().strip().startswith("3")
    page.get_by_test_id("nav-notifications").click()
    page.wait_for_url("**/notifications/")
    items = page.get_by_test_id("notification")
    assert items.count() == 3
    assert page.locator('[data-unread="yes"]').count() == 3
    _shot(page, "notifications-inbox-en")

    # Mark the newest read: the badge drops to 2 and the row is no longer highlighted.
    items.first.get_by_test_id("mark-read").click()
    page.wait_for_load_state()
    assert page.locator('[data-unread="yes"]').count() == 2
    assert page.get_by_test_id("unread-badge").inner_text().strip().startswith("2")

    # The transfer's text links to the lead.
    page.get_by_role("link", name="transferred the lead").click()
    page.wait_for_url(f"**/leads/{lead.id}")
    assert "Zhao Min" in page.content()

    page.goto("/notifications/?lang=zh_Hans_CN")
    assert "通知" in page.locator("h1").inner_text()
    assert "逾期" in page.get_by_test_id("inbox").inner_text()
    _shot(page, "notifications-inbox-zh")

    page.get_by_test_id("read-all").click()
    page.wait_for_load_state()
    assert page.locator('[data-unread="yes"]').count() == 0
    assert page.get_by_test_id("unread-badge").count() == 0
    _shot(page, "notifications-inbox-read")
    assert pages.problems == []
