"""The lazy scan of due events on page loads: at most once per interval per user, kept in the database."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.extensions import db
from sandbox.notifications.models import Notification
from sandbox.notifications.services import SCAN_KIND
from sandbox.oplog import LogEntry, operation
from tests.helpers import act_as, count
from tests.test_notifications import html, visible


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Page loads scan for due events (off in other tests: their GET pages must write nothing)."""
    return {"NOTIFICATION_LAZY_SCAN": True, "NOTIFICATION_SCAN_MINUTES": 10}


def test_a_page_load_scans_at_most_once_per_interval(app, classroom, create_activity):
    from sandbox.clock import today

    room, lazy_app = classroom, app
    a = room.user("studentA")
    create_activity(a, subject="Call Zhao", due_date=today() - timedelta(days=1))
    client = room.client_for(lazy_app, "studentA")
    page = html(client.get("/auth/profile"))
    assert re.search(r'data-testid="unread-badge">1<', page)  # scanned before the badge was shown
    db.session.expire_all()
    assert [n.kind for n in visible(a.id)] == ["task.overdue"]
    scans = count(LogEntry, LogEntry.verb == "notification.scan")
    assert scans == 1
    # The system scanned, not the student: class activity and integrity hints never count it as theirs.
    assert count(LogEntry, LogEntry.verb == "notification.scan", LogEntry.actor_id.is_not(None)) == 0
    create_activity(a, subject="Call Qian", due_date=today() - timedelta(days=2))
    client.get("/auth/profile")
    client.get("/notifications/")
    db.session.expire_all()
    assert count(LogEntry, LogEntry.verb == "notification.scan") == 1  # within 10 minutes: no second scan
    assert len(visible(a.id)) == 1
    # Ten minutes later (the marker says so), the next page scans again and finds the new task.
    marker = db.session.scalar(select(Notification).where(Notification.user_id == a.id, Notification.kind == SCAN_KIND))
    act_as(None)

    @operation("test.age_marker")
    def age() -> None:
        marker.read_at = marker.read_at - timedelta(minutes=11)

    age()
    db.session.commit()
    page = html(client.get("/auth/profile"))
    assert re.search(r'data-testid="unread-badge">2<', page)
    db.session.expire_all()
    assert count(LogEntry, LogEntry.verb == "notification.scan") == 2
