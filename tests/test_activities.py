"""Activities (SPEC §5.7): tasks and events, log a call in one click, complete a task, the record panel,
the dashboard cards and lead conversion moving open activities."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from flask_babel import force_locale
from sqlalchemy import event, select

from sandbox.activities.models import Activity
from sandbox.activities.services import create_activity
from sandbox.clock import today as local_today
from sandbox.extensions import db
from sandbox.oplog import LogEntry
from sandbox.org.models import utcnow
from tests import helpers
from tests.conftest import act_as


def make_activity(owner: Any, **fields: Any) -> Activity:
    """An activity created through the real service as `owner`."""
    act_as(owner)
    data = {"kind": "task", "subject": "Follow up", "due_date": local_today(), **fields}
    obj = create_activity(Activity, data)
    db.session.commit()
    act_as(None)
    return obj


def reload(ident: int) -> Activity:
    return db.session.scalars(select(Activity).where(Activity.id == ident)
                              .execution_options(skip_visibility=True, populate_existing=True)).one()


count = partial(helpers.count, Activity, skip_visibility=True)


def entries(verb: str) -> list[LogEntry]:
    return list(db.session.scalars(select(LogEntry).where(LogEntry.verb == verb)))


def test_bad_inputs_get_messages_and_save_nothing(app, classroom, make_lead):
    client = classroom.client_for(app, "studentA")
    other = make_lead(classroom.user("studentB"), name="Not yours")
    cases = [
        ({"kind": "task", "subject": "No date"}, "A task needs a due date."),
        ({"kind": "event", "subject": "No start", "event_type": "meeting"}, "An event needs a start time."),
        ({"kind": "event", "subject": "Backwards", "event_type": "meeting", "start_at": "2026-05-01T10:00",
          "end_at": "2026-05-01T09:00"}, "The end must not be before the start."),
        ({"kind": "task", "subject": "Dangling", "due_date": "2026-05-01", "related_type": "lead"},
         "Choose the record this activity is about."),
        ({"kind": "task", "subject": "Bad type", "due_date": "2026-05-01", "related_type": "user", "related_id": "1"},
         "Not a valid choice"),
        ({"kind": "task", "subject": "Bad date", "due_date": "someday"}, "Not a valid date value"),
    ]
    for data, message in cases:
        response = client.post("/activities/new?lang=en", data=data)
        assert response.status_code in (200, 400), data
        page = response.get_data(as_text=True)
        assert message in page, (data, page[:3000])
        assert data["subject"] in page  # what was typed is kept
    # A forged related id of another class's lead: a clear message on the field, nothing saved.
    response = client.post("/activities/new?lang=en", data={
        "kind": "task", "subject": "Forged", "due_date": "2026-05-01", "related_type": "lead",
        "related_id": str(other.id)})
    assert response.status_code == 400
    assert "Choose a record you can see." in response.get_data(as_text=True)
    assert count() == 0


def test_create_task_and_event_related_to_a_lead(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"))
    client = classroom.client_for(app, "studentA")
    form = client.get(f"/activities/new?kind=event&related_type=lead&related_id={lead.id}&lang=en")
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert f'<option selected value="{lead.id}">' in page or f'value="{lead.id}" selected' in page
    assert "js/activities.js" in page
    response = client.post("/activities/new", data={
        "kind": "event", "subject": "Demo at the tea house", "event_type": "demo", "start_at": "2026-05-01T09:30",
        "end_at": "2026-05-01T11:00", "location": "Hangzhou", "attendees": "Li Lei, Han Meimei",
        "related_type": "lead", "related_id": str(lead.id), "due_date": "2026-06-01"})
    assert response.status_code == 302
    obj = db.session.scalars(select(Activity).execution_options(skip_visibility=True)).one()
    # Typed in the UI time zone (Asia/Shanghai), stored in UTC; task fields of an event are cleared.
    assert obj.start_at == datetime(2026, 5, 1, 1, 30) and obj.end_at == datetime(2026, 5, 1, 3, 0)
    assert obj.due_date is None and obj.status is None
    assert (obj.related_type, obj.related_id, obj.owner_id) == ("lead", lead.id, classroom.user("studentA").id)
    entry = entries("activity.create")[0]
    assert entry.params["related"] == lead.audit_label
    detail = client.get(f"/activities/{obj.id}?lang=en").get_data(as_text=True)
    assert "Demo at the tea house" in detail and f"/leads/{lead.id}" in detail and "Hangzhou" in detail
    assert "Due date" not in detail
    edit = client.get(f"/activities/{obj.id}/edit").get_data(as_text=True)
    assert 'value="2026-05-01T09:30"' in edit  # shown back in local time
    lead_page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'data-testid="activity-panel"' in lead_page and "Demo at the tea house" in lead_page


def test_log_a_call_in_one_click(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"), name="Wang Fang")
    client = classroom.client_for(app, "studentA")
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'data-testid="log-call"' in page
    response = client.post("/activities/log-call", data={"related_type": "lead", "related_id": str(lead.id)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead.id}")
    call = db.session.scalars(select(Activity).execution_options(skip_visibility=True)).one()
    assert (call.kind, call.event_type, call.related_type, call.related_id) == ("event", "call", "lead", lead.id)
    assert call.start_at == call.end_at and abs(utcnow() - call.start_at) < timedelta(minutes=1)
    logged = entries("activity.log_call")
    assert len(logged) == 1 and logged[0].object_id == call.id and logged[0].params["related"] == lead.audit_label
    assert entries("activity.create") == []  # one click, one entry
    assert "Wang Fang" in client.get(f"/leads/{lead.id}").get_data(as_text=True)
    # Also from an account, with a subject of one's own.
    from sandbox.accounts.models import Account
    from sandbox.accounts.services import create_account

    act_as(classroom.user("studentA"))
    account = create_account(Account, {"name": "Tea Co."})
    db.session.commit()
    response = client.post("/activities/log-call", data={"related_type": "account", "related_id": str(account.id),
                                                         "subject": "Price question"})
    assert response.headers["Location"].endswith(f"/accounts/{account.id}")
    assert count(Activity.subject == "Price question", Activity.related_type == "account") == 1


def test_log_call_refuses_invisible_records_and_readonly(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"))
    other = make_lead(classroom.user("studentB"))
    student = classroom.client_for(app, "studentA")
    assert student.post("/activities/log-call", data={"related_type": "lead", "related_id": str(other.id)}).status_code == 404
    assert student.post("/activities/log-call", data={"related_type": "user", "related_id": "1"}).status_code == 404
    assert student.post("/activities/log-call", data={"related_type": "lead", "related_id": "x"}).status_code == 404
    readonly = classroom.client_for(app, "readonlyA")
    page = readonly.get(f"/leads/{lead.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="activity-panel"' in html
    assert 'data-testid="log-call"' not in html and 'data-testid="new-task"' not in html
    assert readonly.post("/activities/log-call", data={"related_type": "lead", "related_id": str(lead.id)}).status_code == 403
    assert count() == 0 and entries("activity.log_call") == []


def test_complete_a_task(app, classroom, make_lead):
    task = make_activity(classroom.user("studentA"), subject="Send the quote")
    client = classroom.client_for(app, "studentA")
    page = client.get(f"/activities/{task.id}").get_data(as_text=True)
    assert 'data-testid="complete"' in page
    assert client.post(f"/activities/{task.id}/complete", data={}).status_code == 302
    assert reload(task.id).status == "completed"
    assert len(entries("activity.complete")) == 1
    # Again: a message, no second entry; a peer who cannot see it gets 404, the observer 403.
    assert client.post(f"/activities/{task.id}/complete", data={}).status_code == 302
    assert len(entries("activity.complete")) == 1
    assert 'data-testid="complete"' not in client.get(f"/activities/{task.id}").get_data(as_text=True)
    fresh = make_activity(classroom.user("studentA"), subject="Another")
    assert classroom.client_for(app, "peerA").post(f"/activities/{fresh.id}/complete", data={}).status_code == 404
    assert classroom.client_for(app, "readonlyA").post(f"/activities/{fresh.id}/complete", data={}).status_code == 403
    assert reload(fresh.id).status == "not_started"
    # Back to where the button was (the dashboard), never to another site.
    response = client.post(f"/activities/{fresh.id}/complete", data={"next": "//evil.example/"})
    assert response.headers["Location"].endswith(f"/activities/{fresh.id}")


def test_visibility_follows_the_owner(app, classroom):
    task = make_activity(classroom.user("studentA"), subject="Private task")
    assert classroom.client_for(app, "studentB").get(f"/activities/{task.id}").status_code == 404
    assert classroom.client_for(app, "peerA").get(f"/activities/{task.id}").status_code == 404
    manager = classroom.client_for(app, "managerA")
    assert manager.get(f"/activities/{task.id}").status_code == 200
    assert "Private task" in manager.get("/activities/").get_data(as_text=True)
    assert "Private task" not in classroom.client_for(app, "studentB").get("/activities/").get_data(as_text=True)
    # Reassigning (transfer) gives it to the peer.
    client = classroom.client_for(app, "studentA")
    peer = classroom.user("peerA")
    assert client.post(f"/activities/{task.id}/transfer", data={"owner_id": str(peer.id)}).status_code == 302
    assert reload(task.id).owner_id == peer.id
    with force_locale("en"):
        assert entries("activity.transfer")[0].summary.startswith("reassigned activity Private task")
    with force_locale("zh_Hans_CN"):
        assert entries("activity.transfer")[0].summary.startswith("将活动 Private task")


def test_dashboard_shows_today_and_overdue(app, classroom):
    student = classroom.user("studentA")
    today = local_today()
    make_activity(student, subject="Due today")
    make_activity(student, subject="Late one", due_date=today - timedelta(days=3))
    make_activity(student, subject="Next week", due_date=today + timedelta(days=7))
    make_activity(student, subject="Done already", due_date=today, status="completed")
    make_activity(classroom.user("peerA"), subject="Peer task")
    page = classroom.client_for(app, "studentA").get("/?lang=en").get_data(as_text=True)
    today_card = page.split('data-testid="tasks-today"')[1].split("</ul>")[0]
    overdue_card = page.split('data-testid="tasks-overdue"')[1].split("</ul>")[0]
    assert "Due today" in today_card and "Late one" not in today_card
    assert "Late one" in overdue_card and "Due today" not in overdue_card
    for absent in ("Next week", "Done already", "Peer task"):
        assert absent not in today_card and absent not in overdue_card
    assert "My tasks today" in page and "Overdue tasks" in page
    client = classroom.client_for(app, "studentA")
    overdue = client.get("/activities/?view=overdue").get_data(as_text=True)
    assert "Late one" in overdue and "Due today" not in overdue
    events = client.get("/activities/?kind=event").get_data(as_text=True)
    assert "Late one" not in events


def test_conversion_moves_open_activities_to_the_contact(app, classroom, make_lead):
    from sandbox.leads.conversion import ConversionRequest, convert_lead
    from sandbox.leads.models import Lead

    student = classroom.user("studentA")
    lead = make_lead(student, name="Zhao Min")
    on_lead = {"related_type": "lead", "related_id": lead.id}
    open_task = make_activity(student, subject="Open", **on_lead)
    done_task = make_activity(student, subject="Done", status="completed", **on_lead)
    later = utcnow() + timedelta(days=2)
    future = make_activity(student, kind="event", subject="Visit", event_type="visit", start_at=later, **on_lead)
    past = make_activity(student, kind="event", subject="Met", event_type="meeting",
                         start_at=utcnow() - timedelta(days=2), **on_lead)
    act_as(student)
    result = convert_lead(db.session.get(Lead, lead.id), ConversionRequest(account_mode="new"))
    db.session.commit()
    moved = {a.id: (a.related_type, a.related_id) for a in map(reload, (open_task.id, done_task.id, future.id, past.id))}
    assert moved[open_task.id] == moved[future.id] == ("contact", result.contact.id)
    assert moved[done_task.id] == moved[past.id] == ("lead", lead.id)
    convert = entries("lead.convert")[0]
    related = {(r["type"], r["id"]) for r in convert.changes["related"]}
    assert {("activity", open_task.id), ("activity", future.id)} <= related
    page = classroom.client_for(app, "studentA").get(f"/contacts/{result.contact.id}").get_data(as_text=True)
    assert "Open" in page and "Visit" in page
    # The converted lead is read-only: no "log a call" there any more.
    lead_page = classroom.client_for(app, "studentA").get(f"/leads/{lead.id}").get_data(as_text=True)
    assert 'data-testid="log-call"' not in lead_page


def test_record_panel_is_one_query(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"))
    client = classroom.client_for(app, "studentA")

    def queries() -> int:
        seen: list[str] = []

        def count_query(*args: Any) -> None:
            seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", count_query)
        try:
            assert client.get(f"/leads/{lead.id}").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count_query)
        return len(seen)

    queries()  # warm: a process's first page loads the picklists it then keeps (sandbox/codes/services.py)
    make_activity(classroom.user("studentA"), subject="T0", related_type="lead", related_id=lead.id)
    few = queries()
    for i in range(6):
        make_activity(classroom.user("studentA"), subject=f"T{i + 1}", related_type="lead", related_id=lead.id)
        make_activity(classroom.user("managerA"), kind="event", subject=f"E{i}", event_type="call",
                      start_at=utcnow(), related_type="lead", related_id=lead.id)
    assert queries() == few


def test_list_shows_related_labels_and_hides_invisible_ones(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"), name="Seen Lead")
    make_activity(classroom.user("studentA"), subject="About a lead", related_type="lead", related_id=lead.id)
    page = classroom.client_for(app, "studentA").get(f"/activities/?related_type=lead&related_id={lead.id}")
    assert "Seen Lead" in page.get_data(as_text=True) and "About a lead" in page.get_data(as_text=True)


def test_export_and_import_keep_the_related_record(app, classroom, make_lead):
    import io

    lead = make_lead(classroom.user("studentA"))
    other = make_lead(classroom.user("studentB"))
    make_activity(classroom.user("studentA"), subject="Exported", related_type="lead", related_id=lead.id)
    client = classroom.client_for(app, "studentA")
    csv_text = client.post("/activities/export.csv?lang=en").get_data(as_text=True)
    assert "Related to" in csv_text and f"Exported,lead,{lead.id}," in csv_text
    rows = (f"kind,subject,due_date,start_at,related_type,related_id\n"
            f"task,Imported,2030-01-02,,lead,{lead.id}\n"
            f"event,Meeting,,2030-01-02 10:00,,\n"
            f"task,Forged,2030-01-02,,lead,{other.id}\n")
    response = client.post("/activities/import?lang=en", data={
        "file": (io.BytesIO(rows.encode()), "a.csv"), "mode": "good"}, content_type="multipart/form-data")
    assert response.status_code in (200, 302)
    # The invisible lead is refused on its row (the import offers only visible records), the others go in.
    assert f"“{other.id}”" in response.get_data(as_text=True)
    imported = {a.subject: a for a in db.session.scalars(
        select(Activity).where(Activity.subject.in_(["Imported", "Meeting", "Forged"]))
        .execution_options(skip_visibility=True))}
    assert set(imported) == {"Imported", "Meeting"}
    assert (imported["Imported"].related_type, imported["Imported"].related_id) == ("lead", lead.id)
    assert imported["Meeting"].start_at == datetime(2030, 1, 2, 2, 0)


# ---- the request boundary (issue 8) ---------------------------------------------------------------

def test_a_refused_call_log_leaves_no_activity_and_no_entry(app, classroom, make_lead, monkeypatch):
    from sandbox.activities import services
    from tests.test_opportunity_boundary import REFUSAL, refuse_after, table_counts

    lead = make_lead(classroom.user("studentA"), name="Wang Fang")
    client = classroom.client_for(app, "studentA")
    before = table_counts()
    refuse_after(monkeypatch, services, "log_call")
    response = client.post("/activities/log-call", data={"related_type": "lead", "related_id": str(lead.id)})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/leads/{lead.id}")
    assert table_counts() == before
    assert REFUSAL in client.get(f"/leads/{lead.id}").get_data(as_text=True)


def test_completing_a_completed_task_is_refused_with_its_message_and_changes_nothing(app, classroom, monkeypatch):
    from sandbox.activities import services
    from tests.test_opportunity_boundary import REFUSAL, refuse_after, table_counts

    task = make_activity(classroom.user("studentA"), subject="Send the quote", status="completed")
    client = classroom.client_for(app, "studentA")
    before, version = table_counts(), reload(task.id).version
    assert client.post(f"/activities/{task.id}/complete?lang=en", data={}).status_code == 302
    assert table_counts() == before and reload(task.id).version == version
    assert "This task is completed already." in client.get(f"/activities/{task.id}?lang=en").get_data(as_text=True)
    # A refusal after the service has done its work: the task stays open, no entry is kept.
    open_task = make_activity(classroom.user("studentA"), subject="Call back")
    before = table_counts()
    refuse_after(monkeypatch, services, "complete_task")
    assert client.post(f"/activities/{open_task.id}/complete", data={}).status_code == 302
    assert table_counts() == before and reload(open_task.id).status == "not_started"
    assert REFUSAL in client.get(f"/activities/{open_task.id}").get_data(as_text=True)


def test_a_get_on_every_activity_page_writes_nothing(app, classroom, make_lead):
    from tests.test_opportunity_boundary import assert_gets_write_nothing

    assert_gets_write_nothing(app, classroom, make_lead, "activities.")
