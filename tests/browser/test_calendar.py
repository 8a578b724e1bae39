"""The calendar in Chromium: FullCalendar (served from the npm package by route interception, or by the app
with ASSET_BASE_URL=local) shows an event, a drag moves it to another day, and a reload shows it there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from sandbox import access
from sandbox.activities.models import Activity
from sandbox.extensions import db
from sandbox.oplog import set_actor
from tests.conftest import act_as

from .conftest import ARTIFACTS, CDN_BASE, Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def app(app_factory: Any, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The browser tests' app, with extra configuration from an indirect parameter."""
    application = app_factory(WTF_CSRF_ENABLED=True, SERVER_NAME=None, **getattr(request, "param", {}))
    with application.app_context():
        access.use_viewer(access.SYSTEM)
        set_actor(None)
        from sandbox.org.services import create_organization

        create_organization("测试学校")
        db.session.commit()
        yield application


@pytest.fixture
def planned(classroom: Any, create_activity: Any) -> dict[str, Activity]:
    """A meeting of studentA on Tuesday 8 January 2030, 10:00-11:00 local (02:00 UTC), and an open task."""
    student = classroom.user("studentA")
    meeting = create_activity(student, kind="event", subject="Tea tasting", due_date=None,
                              start_at=datetime(2030, 1, 8, 2), end_at=datetime(2030, 1, 8, 3))
    task = create_activity(student, kind="task", subject="Send the quote", due_date=date(2030, 1, 9))
    act_as(None)
    return {"meeting": meeting, "task": task}


def _drag(page: Any, source: Any, target: Any) -> None:
    """Press, move in steps (FullCalendar starts a drag after a few pixels) and release."""
    box, goal = source.bounding_box(), target.bounding_box()
    assert box and goal
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(box["x"] + box["width"] / 2 + (goal["x"] + goal["width"] / 2 - box["x"] - box["width"] / 2)
                        * step / 10, box["y"] + box["height"] / 2 + (goal["y"] + goal["height"] / 2 - box["y"]
                                                                     - box["height"] / 2) * step / 10)
    page.mouse.up()


def _event_in(page: Any, day: str, text: str) -> Any:
    return page.locator(f'td.fc-daygrid-day[data-date="{day}"] .fc-event', has_text=text)


def _open_and_drag(pages: Pages, planned: dict[str, Activity], shot: str) -> Any:
    page = pages.new()
    assert sign_in(page, "studentA").ok
    page.goto("/calendar/?view=month&date=2030-01-08")
    page.locator("#calendar[data-ready='1']").wait_for()
    meeting = _event_in(page, "2030-01-08", "Tea tasting")
    meeting.wait_for()
    assert "10:00" in meeting.inner_text()
    task = _event_in(page, "2030-01-09", "Send the quote")
    assert task.count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}-before.png"), full_page=True)
    _drag(page, meeting, page.locator('td.fc-daygrid-day[data-date="2030-01-10"] .fc-daygrid-day-frame'))
    page.locator("#calendar-message[data-kind='success']").wait_for()
    assert "Moved: Tea tasting" in page.get_by_test_id("calendar-message").inner_text()
    page.reload()
    page.locator("#calendar[data-ready='1']").wait_for()
    _event_in(page, "2030-01-10", "Tea tasting").wait_for()
    assert _event_in(page, "2030-01-08", "Tea tasting").count() == 0
    assert "10:00" in _event_in(page, "2030-01-10", "Tea tasting").inner_text()  # the time of day is kept
    page.screenshot(path=str(ARTIFACTS / f"{shot}-after.png"), full_page=True)
    moved = db.session.get(Activity, planned["meeting"].id)
    db.session.refresh(moved)
    assert moved.start_at == datetime(2030, 1, 10, 2) and moved.end_at == datetime(2030, 1, 10, 3)
    return page


def test_drag_an_event_to_another_day(pages: Pages, planned: dict[str, Activity]) -> None:
    page = _open_and_drag(pages, planned, "calendar-month")
    # The week and day views open from the URL too.
    page.goto("/calendar/?view=week&date=2030-01-10")
    page.locator(".fc-timegrid-event", has_text="Tea tasting").wait_for()
    page.screenshot(path=str(ARTIFACTS / "calendar-week.png"), full_page=True)
    # A bad view in the URL: a note says so and the calendar opens on its default (the month).
    response = page.goto("/calendar/?view=year&date=2030-01-10")
    assert response is not None and response.status == 400
    assert "Choose the day, week or month view." in page.get_by_test_id("calendar-problem").inner_text()
    page.locator(".fc-daygrid-event", has_text="Tea tasting").wait_for()
    page.goto("/calendar/?view=day&date=2030-01-10")
    page.locator(".fc-timegrid-event", has_text="Tea tasting").wait_for()
    page.screenshot(path=str(ARTIFACTS / "calendar-day.png"), full_page=True)
    # The feed page creates an address, shown once.
    page.goto("/calendar/feed")
    page.get_by_test_id("feed-create").click()
    assert "/calendar/feed/" in page.get_by_test_id("feed-url").input_value()
    page.screenshot(path=str(ARTIFACTS / "calendar-feed.png"), full_page=True)
    assert pages.problems == []


@pytest.mark.parametrize("app", [{"ASSET_BASE_URL": "local"}], indirect=True)
def test_the_calendar_works_with_local_assets(pages: Pages, planned: dict[str, Activity]) -> None:
    cdn: list[str] = []

    def refuse(route: Any) -> None:
        cdn.append(route.request.url)
        route.abort()

    page = pages.new()
    page.route(f"{CDN_BASE}/**", refuse)
    assert sign_in(page, "studentA").ok
    page.goto("/calendar/?view=month&date=2030-01-08")
    page.locator("#calendar[data-ready='1']").wait_for()
    _event_in(page, "2030-01-08", "Tea tasting").wait_for()
    assert cdn == [] and pages.problems == []


def test_a_manager_opens_the_department_calendar_in_chinese(pages: Pages, classroom: Any,
                                                            create_activity: Any) -> None:
    """The picker lists the department and its people; an overdue task of a subordinate stands out, in red,
    labelled; the page and FullCalendar's buttons speak Chinese."""
    from sandbox.clock import today

    student = classroom.user("studentA")
    late = create_activity(student, kind="task", subject="Overdue quote", due_date=today() - timedelta(days=1))
    create_activity(classroom.user("peerA"), kind="event", subject="Peer visit", due_date=None,
                    start_at=datetime.combine(today(), datetime.min.time()) + timedelta(hours=2),
                    end_at=datetime.combine(today(), datetime.min.time()) + timedelta(hours=3))
    act_as(None)
    page = pages.new()
    assert sign_in(page, "managerA").ok
    page.goto("/auth/language/zh_Hans_CN")
    page.goto(f"/calendar/?view=month&date={today().isoformat()}")
    page.locator("#calendar[data-ready='1']").wait_for()
    department = f"team-{classroom.departments['A1'].id}"
    page.locator(".fc-next-button").click()  # the URL follows the calendar: next month, then back
    page.wait_for_function("() => new URL(location.href).searchParams.get('date') !== null")
    page.locator(".fc-prev-button").click()
    with page.expect_navigation():
        page.select_option("#who", department)  # choosing submits the form
    page.locator("#calendar[data-ready='1']").wait_for()
    assert f"who={department}" in page.url and "view=month" in page.url
    overdue = page.locator(".fc-event.cal-overdue", has_text="Overdue quote")
    overdue.wait_for()
    assert overdue.inner_text().startswith("已逾期")
    colour = overdue.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour == "rgb(220, 53, 69)"
    page.locator(".fc-event", has_text="Peer visit").wait_for()
    assert page.locator(".fc-today-button").inner_text() == "今天"
    assert late.id
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "calendar-manager-zh.png"), full_page=True)
    assert pages.problems == []


def test_a_stale_drag_reverts_with_a_message(pages: Pages, classroom: Any, planned: dict[str, Activity]) -> None:
    """Someone saves the meeting after the calendar loaded it: the drag is refused (409), the event goes back
    to its day and the message says why."""
    from sandbox.activities.record import FORM_FIELDS
    from sandbox.activities.services import update_activity

    page = pages.new()
    assert sign_in(page, "studentA").ok
    page.goto("/calendar/?view=month&date=2030-01-08")
    page.locator("#calendar[data-ready='1']").wait_for()
    meeting = _event_in(page, "2030-01-08", "Tea tasting")
    meeting.wait_for()
    act_as(classroom.user("studentA"))
    obj = db.session.get(Activity, planned["meeting"].id)
    update_activity(obj, {**{f: getattr(obj, f) for f in FORM_FIELDS}, "location": "Room 9"})
    db.session.commit()
    act_as(None)
    _drag(page, meeting, page.locator('td.fc-daygrid-day[data-date="2030-01-10"] .fc-daygrid-day-frame'))
    page.locator("#calendar-message[data-kind='danger']").wait_for()
    assert page.get_by_test_id("calendar-message").inner_text().startswith(
        "Someone else saved this activity after the calendar showed it")
    _event_in(page, "2030-01-08", "Tea tasting").wait_for()
    assert _event_in(page, "2030-01-10", "Tea tasting").count() == 0
    db.session.refresh(obj)
    assert obj.start_at == datetime(2030, 1, 8, 2) and obj.location == "Room 9"
    page.screenshot(path=str(ARTIFACTS / "calendar-stale.png"), full_page=True)
    assert pages.problems == []
