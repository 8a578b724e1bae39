"""The calendar (SPEC §5.8, issue 10): events JSON per view and `who` through the visibility rule, drag to
reschedule (logged, version-checked, closed tasks refused), create from a slot, the iCalendar feed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from icalendar import Calendar

from sandbox.activities.models import Activity
from sandbox.calendars.models import CalendarFeed
from sandbox.clock import today
from sandbox.extensions import db
from tests import helpers

WEEK = "start=2030-01-07T00:00:00Z&end=2030-01-14T00:00:00Z"  # FullCalendar's week (Monday to Monday)
MONTH = "start=2029-12-31&end=2030-02-11"  # the month grid of January 2030


@pytest.fixture
def diary(classroom: Any, create_activity: Any) -> dict[str, Activity]:
    """Events (stored UTC; Asia/Shanghai is UTC+8) and tasks of studentA, peerA, studentA2 and studentB."""
    u = classroom.user
    made: dict[str, Activity] = {}

    def event(owner: str, subject: str, start: datetime, minutes: int = 90) -> None:
        made[subject] = create_activity(u(owner), kind="event", subject=subject, start_at=start,
                                        end_at=start + timedelta(minutes=minutes), due_date=None)

    def task(owner: str, subject: str, due: date, status: str = "not_started") -> None:
        made[subject] = create_activity(u(owner), kind="task", subject=subject, due_date=due, status=status)

    event("studentA", "A meeting", datetime(2030, 1, 8, 1, 0))  # 09:00-10:30 local on Tuesday 8 January
    event("studentA", "A late call", datetime(2030, 1, 8, 15, 30), 30)  # 23:30 local on the 8th
    event("studentA", "A next month", datetime(2030, 2, 20, 2, 0))
    task("studentA", "A task", date(2030, 1, 10))
    task("studentA", "A done", date(2030, 1, 11), status="completed")
    event("peerA", "peer meeting", datetime(2030, 1, 9, 2, 0))
    task("studentA2", "A2 task", date(2030, 1, 9))
    event("studentB", "B meeting", datetime(2030, 1, 8, 3, 0))
    return made


def _events(client: Any, query: str, status: int = 200) -> Any:
    response = client.get(f"/calendar/events?{query}")
    assert response.status_code == status, response.data[:300]
    return response.get_json()


def _subjects(items: list[dict[str, Any]]) -> set[str]:
    return {i["title"].split(" · ")[0].split(": ", 1)[-1] for i in items}


def test_week_of_a_student_is_exactly_their_own(app: Flask, classroom: Any, diary: dict) -> None:
    student = classroom.client_for(app, "studentA")
    items = {i["title"]: i for i in _events(student, WEEK)}
    assert set(items) == {"A meeting", "A late call", "A task", "Done: A done"}
    meeting = items["A meeting"]
    assert meeting["start"] == "2030-01-08T09:00:00" and meeting["end"] == "2030-01-08T10:30:00"
    assert meeting["allDay"] is False and meeting["startEditable"] is True
    assert meeting["extendedProps"] == {"kind": "event", "version": diary["A meeting"].version}
    assert meeting["url"] == f"/activities/{diary['A meeting'].id}"
    assert items["A late call"]["start"] == "2030-01-08T23:30:00"  # the local day, not the UTC one
    assert items["A task"]["start"] == "2030-01-10" and items["A task"]["allDay"] is True
    assert items["Done: A done"]["startEditable"] is False and "cal-closed" in items["Done: A done"]["classNames"]


def test_day_and_month_ranges(app: Flask, classroom: Any, diary: dict) -> None:
    student = classroom.client_for(app, "studentA")
    day = _events(student, "start=2030-01-08&end=2030-01-09")
    assert _subjects(day) == {"A meeting", "A late call"}
    assert _subjects(_events(student, "start=2030-01-09&end=2030-01-10")) == set()
    assert _subjects(_events(student, MONTH)) == {"A meeting", "A late call", "A task", "A done"}
    assert _subjects(_events(student, "start=2030-02-01&end=2030-03-01")) == {"A next month"}


def test_a_student_never_gets_another_calendar(app: Flask, classroom: Any, diary: dict) -> None:
    student = classroom.client_for(app, "studentA")
    peer = classroom.user("peerA").id
    for who in (str(peer), f"team-{classroom.departments['A1'].id}", f"team-{classroom.classes['A'].id}", "x"):
        body = _events(student, f"{WEEK}&who={who}", 400)
        assert body["field"] == "who"
    page = student.get(f"/calendar/?who={peer}")
    assert page.status_code == 400 and "Choose whose calendar" in helpers.text(page)
    assert 'id="who"' not in helpers.text(student.get("/calendar/"))  # no picker: only their own calendar


def test_a_manager_switches_to_a_subordinate_and_the_department(app: Flask, classroom: Any, diary: dict) -> None:
    manager = classroom.client_for(app, "managerA")
    assert _events(manager, WEEK) == []  # their own calendar is empty
    student = classroom.user("studentA").id
    items = _events(manager, f"{WEEK}&who={student}")
    assert _subjects(items) == {"A meeting", "A late call", "A task", "A done"}
    assert all(i["title"].endswith(" · Studenta") for i in items)
    assert all(i["startEditable"] for i in items if "cal-closed" not in i["classNames"])  # a superior may move them
    department = _subjects(_events(manager, f"{WEEK}&who=team-{classroom.departments['A1'].id}"))
    assert department == {"A meeting", "A late call", "A task", "A done", "peer meeting"}
    # Department A2 and studentA2 are not below the manager; class B never.
    for who in (f"team-{classroom.departments['A2'].id}", str(classroom.user("studentA2").id),
                str(classroom.user("studentB").id)):
        assert _events(manager, f"{WEEK}&who={who}", 400)["field"] == "who"
    page = helpers.text(manager.get("/calendar/"))
    assert f'value="{student}"' in page and f'value="team-{classroom.departments["A1"].id}"' in page


def test_an_instructor_sees_a_whole_class_and_never_another(app: Flask, classroom: Any, diary: dict) -> None:
    teacher = classroom.client_for(app, "teacher")
    class_a = _subjects(_events(teacher, f"{WEEK}&who=team-{classroom.classes['A'].id}"))
    assert class_a == {"A meeting", "A late call", "A task", "A done", "peer meeting", "A2 task"}
    assert _subjects(_events(teacher, f"{WEEK}&who=team-{classroom.classes['B'].id}")) == {"B meeting"}
    teacher2 = classroom.client_for(app, "teacher2")
    assert _events(teacher2, f"{WEEK}&who=team-{classroom.classes['A'].id}", 400)["field"] == "who"
    assert _events(teacher2, f"{WEEK}&who={classroom.user('studentA').id}", 400)["field"] == "who"


def test_another_class_never_changes_what_a_calendar_shows(app: Flask, classroom: Any, diary: dict,
                                                           create_activity: Any) -> None:
    teacher = classroom.client_for(app, "teacher")
    who = f"who=team-{classroom.classes['A'].id}"
    before = _events(teacher, f"{WEEK}&{who}")
    create_activity(classroom.user("studentC"), kind="event", subject="C meeting",
                    start_at=datetime(2030, 1, 8, 1), end_at=datetime(2030, 1, 8, 2), due_date=None)
    assert _events(teacher, f"{WEEK}&{who}") == before


def test_deleted_activities_are_not_shown(app: Flask, classroom: Any, diary: dict) -> None:
    from sandbox.records.services import delete_record

    helpers.act_as(classroom.user("studentA"))
    delete_record(db.session.get(Activity, diary["A task"].id))
    db.session.commit()
    student = classroom.client_for(app, "studentA")
    assert "A task" not in _subjects(_events(student, WEEK))


def test_overdue_open_tasks_stand_out(app: Flask, classroom: Any, create_activity: Any) -> None:
    student = classroom.user("studentA")
    past = today() - timedelta(days=2)
    create_activity(student, kind="task", subject="Late", due_date=past)
    create_activity(student, kind="task", subject="Late but done", due_date=past, status="completed")
    create_activity(student, kind="task", subject="Soon", due_date=today() + timedelta(days=1))
    client = classroom.client_for(app, "studentA")
    first = today() - timedelta(days=7)
    items = {i["extendedProps"].get("overdue"): i for i in
             _events(client, f"start={first}&end={first + timedelta(days=14)}") if i["title"].endswith("Late")}
    late = items[True]
    assert late["title"] == "Overdue: Late" and "cal-overdue" in late["classNames"]
    others = {i["title"]: i for i in _events(client, f"start={first}&end={first + timedelta(days=14)}")}
    assert "cal-overdue" not in others["Done: Late but done"]["classNames"]
    assert others["Soon"]["extendedProps"]["overdue"] is False


@pytest.mark.parametrize(("query", "field"), [
    ("start=2030-01-08", "end"),
    ("start=tomorrow&end=2030-01-09", "start"),
    ("start=2030-01-09&end=2030-01-08", "end"),
    ("start=2030-01-01&end=2031-01-01", "end"),
    ("start=2030-01-01&end=2030-01-02&who=team-abc", "who"),
    ("start=2030-01-01&end=2030-01-02&who=99999999999999999999", "who"),
    ("start=0001-01-01&end=0001-01-02", "start"),
    ("start=9999-12-30&end=9999-12-31", "start"),
    ("start=2030-01-01T25:00:00&end=2030-01-02", "start"),
])
def test_bad_ranges_and_who_are_400_with_a_message(app: Flask, classroom: Any, query: str, field: str) -> None:
    client = classroom.client_for(app, "studentA")
    body = _events(client, query, 400)
    assert body["field"] == field and body["error"]


@pytest.mark.parametrize(("query", "message"), [
    ("view=year", "Choose the day, week or month view."),
    ("date=2030-13-01", "Give the date as YYYY-MM-DD."),
    ("date=soon&view=day", "Give the date as YYYY-MM-DD."),
    ("date=0001-01-01", "Give a date between the years 1900 and 9000."),
])
def test_bad_view_or_date_is_400_with_a_fallback_note(app: Flask, classroom: Any, query: str, message: str) -> None:
    client = classroom.client_for(app, "studentA")
    response = client.get(f"/calendar/?{query}")
    page = helpers.text(response)
    assert response.status_code == 400
    assert message in page and "The calendar shows its default instead." in page
    assert 'id="calendar-config"' in page  # the calendar still opens, on its default


def test_view_and_date_choose_the_first_screen(app: Flask, classroom: Any) -> None:
    client = classroom.client_for(app, "studentA")
    page = helpers.text(client.get("/calendar/?view=week&date=2030-01-08"))
    assert '"view": "timeGridWeek"' in page and '"date": "2030-01-08"' in page
    assert '"view": "timeGridDay"' in helpers.text(client.get("/calendar/?view=day&date=2030-01-08"))
    assert '"view": "dayGridMonth"' in helpers.text(client.get("/calendar/"))


# ---- drag to reschedule --------------------------------------------------------------------------------------

def _move(client: Any, obj: Activity, start: str, version: int | None = None) -> Any:
    return client.post(f"/calendar/events/{obj.id}/move",
                       json={"start": start, "version": obj.version if version is None else version})


def test_dragging_an_event_keeps_its_duration_and_is_logged(app: Flask, classroom: Any, diary: dict) -> None:
    client = classroom.client_for(app, "studentA")
    meeting = diary["A meeting"]
    response = _move(client, meeting, "2030-01-10T14:00:00")
    assert response.status_code == 200, response.data
    moved = helpers.fresh(meeting)
    assert moved.start_at == datetime(2030, 1, 10, 6, 0) and moved.end_at == datetime(2030, 1, 10, 7, 30)
    assert response.get_json() == {"id": moved.id, "version": moved.version, "subject": "A meeting"}
    entry = helpers.entries("activity.update")[-1]
    assert entry.object_id == moved.id and entry.actor_id == classroom.user("studentA").id
    assert entry.changes["fields"]["start_at"] == ["2030-01-08T01:00:00", "2030-01-10T06:00:00"]
    assert entry.changes["fields"]["end_at"] == ["2030-01-08T02:30:00", "2030-01-10T07:30:00"]
    assert set(entry.changes["fields"]) == {"start_at", "end_at"}


def test_dropping_an_event_on_a_day_keeps_its_time_of_day(app: Flask, classroom: Any, diary: dict) -> None:
    client = classroom.client_for(app, "studentA")
    assert _move(client, diary["A meeting"], "2030-01-15").status_code == 200
    moved = helpers.fresh(diary["A meeting"])
    assert moved.start_at == datetime(2030, 1, 15, 1, 0) and moved.end_at == datetime(2030, 1, 15, 2, 30)


def test_dragging_a_task_moves_its_due_date(app: Flask, classroom: Any, diary: dict) -> None:
    client = classroom.client_for(app, "studentA")
    response = _move(client, diary["A task"], "2030-01-12")
    assert response.status_code == 200
    assert helpers.fresh(diary["A task"]).due_date == date(2030, 1, 12)
    entry = helpers.entries("activity.update")[-1]
    assert entry.changes["fields"] == {"due_date": ["2030-01-10", "2030-01-12"]}


def test_a_stale_version_is_409_and_changes_nothing(app: Flask, classroom: Any, diary: dict) -> None:
    client = classroom.client_for(app, "studentA")
    task = diary["A task"]
    stale = task.version
    assert _move(client, task, "2030-01-12").status_code == 200
    response = _move(client, task, "2030-01-20", version=stale)
    assert response.status_code == 409
    assert "Someone else saved this record" in response.get_json()["error"]
    assert helpers.fresh(task).due_date == date(2030, 1, 12)
    assert len(helpers.entries("activity.update")) == 1


def test_a_closed_task_is_refused_with_a_message(app: Flask, classroom: Any, diary: dict) -> None:
    client = classroom.client_for(app, "studentA")
    response = _move(client, diary["A done"], "2030-01-20")
    assert response.status_code == 400
    assert response.get_json()["error"] == "This task is completed; reopen it before moving it."
    assert helpers.fresh(diary["A done"]).due_date == date(2030, 1, 11)
    assert helpers.entries("activity.update") == []


@pytest.mark.parametrize(("body", "field"), [
    ({"start": "2030-01-12"}, "version"),
    ({"start": "not a day", "version": 1}, "start"),
    ({"start": "", "version": 1}, "start"),
    ({"start": 12, "version": 1}, "start"),
    ({"start": "2030-01-12", "version": "x"}, "version"),
    ({"start": "0001-01-01", "version": 1}, "start"),
    ({"start": "9999-12-31T23:00:00", "version": 1}, "start"),
])
def test_bad_move_input_is_400(app: Flask, classroom: Any, diary: dict, body: dict, field: str) -> None:
    client = classroom.client_for(app, "studentA")
    response = client.post(f"/calendar/events/{diary['A task'].id}/move", json=body)
    assert response.status_code == 400 and response.get_json()["field"] == field
    assert helpers.fresh(diary["A task"]).due_date == date(2030, 1, 10)


def test_moving_others_activities_follows_the_permission_door(app: Flask, classroom: Any, diary: dict) -> None:
    peer = classroom.client_for(app, "peerA")
    assert _move(peer, diary["A task"], "2030-01-12").status_code == 404
    observer = classroom.client_for(app, "readonlyA")
    assert _move(observer, diary["A task"], "2030-01-12").status_code == 403
    manager = classroom.client_for(app, "managerA")
    assert _move(manager, diary["A task"], "2030-01-12").status_code == 200
    assert helpers.entries("activity.update")[-1].actor_id == classroom.user("managerA").id


# ---- create from a slot ------------------------------------------------------------------------------------

def test_a_selected_slot_opens_the_activity_form_prefilled(app: Flask, classroom: Any) -> None:
    client = classroom.client_for(app, "studentA")
    page = helpers.text(client.get("/activities/new?kind=event&start_at=2030-01-08T09:00&end_at=2030-01-08T10:00"))
    assert 'value="2030-01-08T09:00"' in page and 'value="2030-01-08T10:00"' in page
    response = client.post("/activities/new", data={"kind": "event", "subject": "From a slot",
                                                    "start_at": "2030-01-08T09:00", "end_at": "2030-01-08T10:00"})
    assert response.status_code == 302
    items = {i["title"]: i for i in _events(client, WEEK)}
    assert items["From a slot"]["start"] == "2030-01-08T09:00:00"
    assert items["From a slot"]["end"] == "2030-01-08T10:00:00"
    page = helpers.text(client.get("/activities/new?kind=task&due_date=2030-01-09"))
    assert 'value="2030-01-09"' in page


# ---- the iCalendar feed ------------------------------------------------------------------------------------

def _create_feed(client: Any) -> str:
    import re

    response = client.post("/calendar/feed/new")
    assert response.status_code == 200
    found = re.search(r'id="feed-url" readonly value="http://localhost/calendar/feed/([^"]+)\.ics"',
                      helpers.text(response))
    assert found, helpers.text(response)[:2000]
    return found.group(1)


def test_feed_lists_own_activities_with_utc_times(app: Flask, classroom: Any, diary: dict,
                                                 create_activity: Any) -> None:
    student = classroom.user("studentA")
    soon = today() + timedelta(days=3)
    create_activity(student, kind="event", subject="Feed meeting", start_at=datetime(soon.year, soon.month, soon.day, 1),
                    end_at=datetime(soon.year, soon.month, soon.day, 2, 30), due_date=None, location="Room 3")
    create_activity(student, kind="task", subject="Feed task", due_date=soon)
    create_activity(classroom.user("peerA"), kind="task", subject="Peer task", due_date=soon)
    client = classroom.client_for(app, "studentA")
    token = _create_feed(client)
    feed = db.session.scalars(db.select(CalendarFeed)).one()
    assert feed.token_hash != token and len(feed.token_hash) == 64  # only the hash is kept
    entry = helpers.entries("calendar_feed.create")[-1]
    assert entry.changes["fields"]["token_hash"][1] == "***"
    anonymous = app.test_client()
    response = anonymous.get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    text = response.get_data(as_text=True)
    stamp = soon.strftime("%Y%m%d")
    assert f"DTSTART:{stamp}T010000Z" in text and f"DTEND:{stamp}T023000Z" in text
    cal = Calendar.from_ical(response.data)
    events = {str(c["summary"]): c for c in cal.walk("VEVENT")}
    todos = {str(c["summary"]): c for c in cal.walk("VTODO")}
    assert set(events) == {"Feed meeting"} and set(todos) == {"Feed task"}  # 2030 is beyond a year; peer's never
    assert str(events["Feed meeting"]["location"]) == "Room 3"
    assert todos["Feed task"].decoded("due") == soon and str(todos["Feed task"]["status"]) == "NEEDS-ACTION"


def test_revoked_regenerated_and_unknown_tokens_are_404(app: Flask, classroom: Any) -> None:
    client = classroom.client_for(app, "studentA")
    first = _create_feed(client)
    second = _create_feed(client)  # regenerating revokes the first
    anonymous = app.test_client()
    assert anonymous.get(f"/calendar/feed/{first}.ics").status_code == 404
    assert anonymous.get(f"/calendar/feed/{second}.ics").status_code == 200
    response = client.post("/calendar/feed/revoke")
    assert response.status_code == 302
    assert anonymous.get(f"/calendar/feed/{second}.ics").status_code == 404
    for bad in ("nothing", "x" * 300, "%00", "..%2F..%2Fetc"):
        assert anonymous.get(f"/calendar/feed/{bad}.ics").status_code == 404
    assert len(helpers.entries("calendar_feed.create")) == 2 and len(helpers.entries("calendar_feed.revoke")) == 1
    assert "You have no active feed address." in helpers.text(client.get("/calendar/feed"))
    response = client.post("/calendar/feed/revoke")  # nothing left to revoke: a message, not a 500
    assert response.status_code == 302
    assert "You have no calendar feed to revoke." in helpers.flashed(client, response)


def test_the_feed_address_is_shown_once(app: Flask, classroom: Any) -> None:
    client = classroom.client_for(app, "studentA")
    token = _create_feed(client)
    page = helpers.text(client.get("/calendar/feed"))
    assert token not in page and "A feed address is active since" in page


def test_observers_cannot_create_a_feed(app: Flask, classroom: Any) -> None:
    observer = classroom.client_for(app, "readonlyA")
    assert observer.post("/calendar/feed/new").status_code == 403
    assert 'data-testid="feed-create"' not in helpers.text(observer.get("/calendar/feed"))
    assert db.session.scalars(db.select(CalendarFeed)).all() == []


def test_the_feed_is_rate_limited(app_factory: Any, classroom: Any) -> None:
    limited = app_factory(RATELIMIT_ENABLED=True, CALENDAR_FEED_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    statuses = [client.get("/calendar/feed/unknown.ics").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]


def test_the_calendar_query_goes_through_visibility_even_for_a_forged_who(app: Flask, classroom: Any,
                                                                         diary: dict) -> None:
    """`who` is checked against the viewer's choices, and the query still reads through the visibility rule:
    a Who naming another class's position or a classmate (private mode) finds nothing."""
    from sandbox.calendars import services

    helpers.act_as(classroom.user("studentA"))
    first, last = datetime(2030, 1, 7), datetime(2030, 1, 14)
    forged = services.Who("x", "x", team_id=classroom.classes["B"].id)
    assert services.events_for(forged, first, last) == []
    peer = services.Who("x", "x", owner_id=classroom.user("peerA").id)
    assert services.events_for(peer, first, last) == []
    class_a = services.Who("x", "x", team_id=classroom.classes["A"].id)
    assert _subjects(services.events_for(class_a, first, last)) == {"A meeting", "A late call", "A task", "A done"}


# ---- the page's assets and CSP -----------------------------------------------------------------------------

def _csp(response: Any) -> dict[str, list[str]]:
    parts = [p.strip().split() for p in response.headers["Content-Security-Policy"].split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def test_only_the_calendar_page_allows_its_injected_stylesheet(app: Flask, classroom: Any) -> None:
    import re

    from sandbox.config import ASSETS

    client = classroom.client_for(app, "studentA")
    response = client.get("/calendar/")
    page = helpers.text(response)
    nonce = re.search(r'<meta name="csp-nonce" content="([^"]+)">', page).group(1)
    csp = _csp(response)
    assert f"'nonce-{nonce}'" in csp["style-src"] and "'unsafe-inline'" not in csp["style-src"]
    assert csp["font-src"] == ["'self'", "data:"]
    path, sri = ASSETS["fullcalendar"]
    assert f'src="https://cdn.jsdelivr.net/npm/{path}" integrity="{sri}" crossorigin="anonymous"' in page
    again = _csp(client.get("/calendar/"))
    assert again["style-src"] != csp["style-src"]  # a new nonce per response
    home = _csp(client.get("/"))
    assert not any(s.startswith("'nonce-") for s in home["style-src"]) and home["font-src"] == ["'self'"]


def test_local_assets_serve_fullcalendar_from_the_npm_copy(app_factory: Any, classroom: Any) -> None:
    import base64
    import hashlib

    from sandbox.app_setup import local_asset_file
    from sandbox.config import ASSETS

    local = app_factory(ASSET_BASE_URL="local")
    copy = local_asset_file(local, "fullcalendar")
    if copy is None or not copy.is_file():
        pytest.skip("FullCalendar was not fetched from npm (bash scripts/install.sh --test)")
    client = local.test_client()
    helpers.login(client, classroom.user("studentA").username)
    page = helpers.text(client.get("/calendar/"))
    assert 'src="/vendor/fullcalendar.js"' in page
    body = client.get("/vendor/fullcalendar.js").data
    assert body == copy.read_bytes()
    assert "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode() == ASSETS["fullcalendar"][1]


def test_feed_entries_read_well_in_the_log(app: Flask, classroom: Any) -> None:
    client = classroom.client_for(app, "studentA")
    _create_feed(client)
    client.post("/calendar/feed/revoke")
    page = helpers.text(client.get("/log/"))
    assert "created a calendar feed address" in page and "revoked a calendar feed address" in page
    assert "token_hash" not in page
    zh = helpers.text(client.get("/log/?lang=zh_Hans_CN"))
    assert "创建了日历订阅地址" in zh and "撤销了日历订阅地址" in zh
