"""Notifications: each event makes exactly the expected rows for the right users, the inbox, the badge, scans, email."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from sandbox.extensions import db, mail
from sandbox.notifications.jobs import scan_all, scan_user
from sandbox.notifications.models import Notification
from sandbox.notifications.render import render_all, text_of
from sandbox.notifications.services import SCAN_KIND, badge_state, notify, unread_count
from sandbox.oplog import LogEntry, operation
from sandbox.org.models import Role
from tests.conftest import PASSWORD
from tests.helpers import act_as, count


def visible(user_id: int | None = None, kind: str | None = None) -> list[Notification]:
    """The notifications (markers left out), optionally of one user and kind, oldest first."""
    stmt = select(Notification).where(Notification.kind != SCAN_KIND).order_by(Notification.id)
    if user_id is not None:
        stmt = stmt.where(Notification.user_id == user_id)
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return list(db.session.scalars(stmt))


@operation("test.notify")
def raise_notifications(user_ids: list[int], kind: str, record: Any = None, **params: Any) -> list[Notification]:
    """notify() inside an operation, as features call it."""
    return notify(user_ids, kind, record=record, **params)


def html(response: Any) -> str:
    """The page text."""
    return response.get_data(as_text=True)


# ---- events ------------------------------------------------------------------------------------------------

def test_a_transfer_notifies_the_new_owner_only(app, classroom, create_lead):
    from sandbox.records.services import transfer_record

    a, peer = classroom.user("studentA"), classroom.user("peerA")
    lead = create_lead(a, name="Zhao Min")
    act_as(a)
    transfer_record(lead, peer.id)
    db.session.commit()
    notes = visible()
    assert [(n.user_id, n.kind, n.record_type, n.record_id) for n in notes] == [(peer.id, "record.transferred", "lead", lead.id)]
    assert notes[0].params == {"type": "lead", "by": "Studenta", "label": "Zhao Min · Hangzhou Tea Co."}
    with force_locale("en"):
        assert text_of(notes[0]) == "Studenta transferred the lead “Zhao Min · Hangzhou Tea Co.” to you."


def test_approval_and_rejection_notify_the_student(app, classroom):
    from sandbox.auth.services import register_user
    from sandbox.org.services import OrgError, approve_user, reject_user

    teacher, pending = classroom.user("teacher"), classroom.user("pendingA")
    other = register_user("pendingX", "Pending X", "pendingx@example.com", PASSWORD, classroom.classes["A"], None)
    db.session.commit()
    act_as(teacher)
    approve_user(teacher, pending, classroom.positions["A2"], Role.STUDENT)
    reject_user(teacher, other, "Not in this course")
    db.session.commit()
    notes = visible()
    assert [(n.user_id, n.kind) for n in notes] == [(pending.id, "registration.approved"),
                                                    (other.id, "registration.rejected")]
    with force_locale("en"):
        assert text_of(notes[0]).startswith("Your registration was approved: welcome to ")
        assert text_of(notes[1]) == "Your registration was rejected: Not in this course"
    # A refused decision (no reason) raises nothing.
    third = register_user("pendingY", "Pending Y", "pendingy@example.com", PASSWORD, classroom.classes["A"], None)
    db.session.commit()
    act_as(teacher)
    with pytest.raises(OrgError):
        reject_user(teacher, third, "  ")
    db.session.rollback()
    assert visible(third.id) == []


def test_an_approved_student_reads_it_after_signing_in(app, classroom):
    teacher_client = classroom.client_for(app, "teacher")
    pending = classroom.user("pendingA")
    response = teacher_client.post("/admin/approvals", data={
        "user_ids": [str(pending.id)], "decision": "approve", "position_id": str(classroom.positions["A2"].id),
        "role": Role.STUDENT})
    assert response.status_code == 302, html(response)[:800]
    student = classroom.client_for(app, "pendingA")
    page = html(student.get("/notifications/"))
    assert "Your registration was approved" in page


def test_a_grade_override_notifies_that_student(app, classroom):
    from sandbox.classroom.grading.services import set_override
    from sandbox.classroom.runs.services import load_scenario

    teacher, a = classroom.user("teacher"), classroom.user("studentA")
    act_as(teacher)
    run = load_scenario(classroom.classes["A"], "sales-basics").run
    db.session.commit()
    objective = run.scenario.objectives[0]
    before = {n.id for n in visible()}
    act_as(teacher)
    set_override(run, a, objective.id, "1", "Good call notes")
    db.session.commit()
    new = [n for n in visible() if n.id not in before]
    assert [(n.user_id, n.kind) for n in new] == [(a.id, "grade.override")]
    with force_locale("en"):
        assert text_of(new[0]) == (f"Teacher set your points for objective {objective.id} to 1.00 of "
                                   f"{objective.points}: Good call notes")
    act_as(a)
    with app.test_request_context():
        assert render_all(new)[0].url == "/me/progress"


# ---- due events: scans ---------------------------------------------------------------------------------------

def test_overdue_tasks_are_announced_once_per_due_date(app, classroom, create_activity):
    from sandbox.activities.services import update_activity
    from sandbox.clock import today

    a, peer, c = classroom.user("studentA"), classroom.user("peerA"), classroom.user("studentC")
    day = today()
    late = create_activity(a, subject="Call Zhao", due_date=day - timedelta(days=1))
    create_activity(a, subject="Due today", due_date=day)
    create_activity(a, subject="Done late", due_date=day - timedelta(days=2), status="completed")
    create_activity(a, subject="Long ago", due_date=day - timedelta(days=30))
    peer_late = create_activity(peer, subject="Peer task", due_date=day - timedelta(days=3))
    create_activity(c, subject="Other class", due_date=day - timedelta(days=1))

    act_as(None)
    assert scan_user(a) == 1
    db.session.commit()
    assert [(n.user_id, n.record_id, n.params["due"]) for n in visible(kind="task.overdue")] == [
        (a.id, late.id, (day - timedelta(days=1)).isoformat())]
    act_as(None)
    assert scan_user(a) == 0  # idempotent
    users, added = scan_all()
    db.session.commit()
    assert added == 2  # peerA's and studentC's, not studentA's again
    assert sorted(n.user_id for n in visible(kind="task.overdue")) == sorted([a.id, peer.id, c.id])
    assert scan_all()[1] == 0
    db.session.commit()
    # Moved to another past day and still open: that is news again.
    act_as(peer)
    update_activity(peer_late, {"kind": "task", "subject": "Peer task", "due_date": day - timedelta(days=2)})
    db.session.commit()
    act_as(None)
    assert scan_user(peer) == 1
    db.session.commit()
    assert len(visible(peer.id, "task.overdue")) == 2


def test_the_deadline_near_is_announced_to_the_class_students_once(app, classroom):
    from sandbox.classroom.grading.services import extend_deadline
    from sandbox.classroom.runs.services import load_scenario
    from sandbox.clock import utcnow

    teacher = classroom.user("teacher")
    a, peer, b = classroom.user("studentA"), classroom.user("peerA"), classroom.user("studentB")
    act_as(teacher)
    run = load_scenario(classroom.classes["A"], "sales-basics", deadline=utcnow() + timedelta(hours=3)).run
    db.session.commit()
    act_as(teacher)
    extend_deadline(run, peer, utcnow() + timedelta(days=5), "Ill")  # peerA's own deadline is far
    db.session.commit()
    act_as(None)
    scan_all()
    db.session.commit()
    notes = visible(kind="deadline.near")
    students_a = {u.id for name, u in classroom.users.items()
                  if name in ("studentA", "managerA", "studentA2")}
    assert {n.user_id for n in notes} == students_a  # not peerA (extended), not class B, not staff
    assert all(n.record_type == "run" and n.record_id == run.id for n in notes)
    act_as(None)
    assert scan_all()[1] == 0  # idempotent (the scenario's overdue tasks, if any, were announced the first time)
    db.session.commit()
    assert len(visible(kind="deadline.near")) == len(notes)
    with force_locale("en"):
        assert text_of(notes[0]).startswith("The deadline of scenario sales-basics is near: ")
    # The deadline is shown in the configured time zone (Asia/Shanghai, UTC+8), never in UTC.
    local = (run.deadline + timedelta(hours=8)).strftime("%-I:%M")
    with force_locale("en"):
        assert local in text_of(notes[0])
    assert a.id in students_a and b.id not in students_a


# ---- the inbox -----------------------------------------------------------------------------------------------

def test_inbox_badge_mark_read_and_mark_all(app, classroom):
    a, peer = classroom.user("studentA"), classroom.user("peerA")
    act_as(None)
    mine = [raise_notifications([a.id], "task.overdue", label=f"Task {i}", due=f"2030-01-0{i + 1}")[0]
            for i in range(3)]
    theirs = raise_notifications([peer.id], "task.overdue", label="Peer task", due="2030-01-01")[0]
    db.session.commit()
    assert unread_count(a.id) == 3 and badge_state(a.id) == (3, None)

    client = classroom.client_for(app, "studentA")
    page = html(client.get("/notifications/"))
    assert re.search(r'data-testid="unread-badge">3<', page)
    texts = re.findall(r"Your task “(Task \d)” is overdue", page)
    assert texts == ["Task 2", "Task 1", "Task 0"]  # newest first
    assert "Peer task" not in page
    assert page.count('data-unread="yes"') == 3

    # Another user's notification: 404, unchanged, no entry.
    entries = count(LogEntry)
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert client.post("/notifications/999999/read").status_code == 404
    assert db.session.get(Notification, theirs.id).read_at is None and count(LogEntry) == entries

    assert client.post(f"/notifications/{mine[0].id}/read").status_code == 302
    db.session.expire_all()
    assert db.session.get(Notification, mine[0].id).read_at is not None
    assert unread_count(a.id) == 2
    entry = db.session.scalars(select(LogEntry).order_by(LogEntry.id.desc())).first()
    assert (entry.verb, entry.actor_id, entry.object_id) == ("notification.read", a.id, mine[0].id)
    assert "read a notification" in html(client.get("/log/"))  # the log page renders it, no kind code shown
    page = html(client.get("/notifications/"))
    assert re.search(r'data-testid="unread-badge">2<', page) and page.count('data-unread="yes"') == 2

    assert client.post("/notifications/read-all").status_code == 302
    db.session.expire_all()
    assert unread_count(a.id) == 0 and unread_count(peer.id) == 1
    entry = db.session.scalars(select(LogEntry).order_by(LogEntry.id.desc())).first()
    assert (entry.verb, entry.params) == ("notification.read_all", {"count": 2})
    page = html(client.get("/notifications/"))
    assert 'data-testid="unread-badge"' not in page and 'data-unread="yes"' not in page


def test_inbox_pages(app, classroom):
    a = classroom.user("studentA")
    act_as(None)
    for i in range(30):
        raise_notifications([a.id], "case.assigned", label=f"Case {i:02d}")
    db.session.commit()
    client = classroom.client_for(app, "studentA")
    first, second = html(client.get("/notifications/")), html(client.get("/notifications/?page=2"))
    assert first.count('data-testid="notification"') == 25 and "Case 29" in first and "Case 04" not in first
    assert second.count('data-testid="notification"') == 5 and "Case 04" in second and "Case 00" in second
    assert client.get("/notifications/?page=abc").status_code == 200
    assert client.get("/notifications/?page=99999999999999").status_code == 200


def test_links_go_through_visibility(app, classroom, create_lead):
    from sandbox.records.services import delete_record, transfer_record

    a, peer = classroom.user("studentA"), classroom.user("peerA")
    kept, given, binned = (create_lead(a, name=n) for n in ("Kept lead", "Given lead", "Binned lead"))
    act_as(None)
    raise_notifications([a.id], "record.transferred", record=kept, type="lead", by="Teacher")
    raise_notifications([a.id], "record.transferred", record=given, type="lead", by="Teacher")
    raise_notifications([a.id], "record.transferred", record=binned, type="lead", by="Teacher")
    # A notification about a record that no longer exists, and a kind nobody registered: text, no link, no 500.
    raise_notifications([a.id], "case.escalated", label="Gone case")

    class Gone:
        """A record deleted for good since: only its type and id remain."""

        __audit_type__ = "lead"
        id = 987654
        class_id = None
        audit_label = "Mystery"

    raise_notifications([a.id], "something.new", record=Gone())
    db.session.commit()
    act_as(a)
    transfer_record(given, peer.id)  # now peerA's, in a class where records are private
    delete_record(binned)  # in the recycle bin: its page still opens
    db.session.commit()
    page = html(classroom.client_for(app, "studentA").get("/notifications/"))
    assert f'href="/leads/{kept.id}"' in page and f'href="/leads/{binned.id}"' in page
    assert f'/leads/{given.id}"' not in page and "Given lead" in page
    assert "Mystery" in page and "/leads/987654" not in page and "Gone case" in page
    # peerA, the new owner, does get the link on their own notification.
    peer_page = html(classroom.client_for(app, "peerA").get("/notifications/"))
    assert f'href="/leads/{given.id}"' in peer_page


def test_rendering_in_chinese_and_english(app, classroom):
    a = classroom.user("studentA")
    act_as(None)
    note = raise_notifications([a.id], "task.overdue", label="回访张先生", due="2030-01-02")[0]
    db.session.commit()
    with force_locale("en"):
        assert text_of(note) == "Your task “回访张先生” is overdue (due Jan 2, 2030)."
    with force_locale("zh_Hans_CN"):
        text = text_of(note)
    assert "回访张先生" in text and "逾期" in text and "2030" in text
    client = classroom.client_for(app, "studentA")
    assert "逾期" in html(client.get("/notifications/?lang=zh_Hans_CN"))
    assert "is overdue" in html(client.get("/notifications/?lang=en"))


def test_the_badge_is_one_query(app, classroom):
    from sqlalchemy import event

    a = classroom.user("studentA")
    act_as(None)
    raise_notifications([a.id], "case.assigned", label="Case 1")
    db.session.commit()
    client = classroom.client_for(app, "studentA")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        client.get("/auth/profile")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len([s for s in statements if "notifications" in s]) == 1


# ---- the CLI; no lazy scan under TESTING -------------------------------------------------------------------

def test_without_lazy_scan_a_get_writes_nothing(app, classroom, create_activity):
    from sandbox.clock import today

    create_activity(classroom.user("studentA"), subject="Late", due_date=today() - timedelta(days=1))
    entries = count(LogEntry)
    classroom.client_for(app, "studentA").get("/notifications/")
    assert count(Notification) == 0 and count(LogEntry) == entries + 1  # the sign-in's entry only


def test_the_cli_scan(app, classroom, create_activity):
    from sandbox.clock import today

    create_activity(classroom.user("studentA"), subject="Late", due_date=today() - timedelta(days=1))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["notifications", "scan"])
    assert result.exit_code == 0, result.output
    assert re.search(r"scanned \d+ user\(s\): 1 notification\(s\) added, 0 emailed", result.output)
    result = runner.invoke(args=["notifications", "scan"])
    assert "0 notification(s) added" in result.output
    db.session.expire_all()
    assert len(visible(kind="task.overdue")) == 1


def test_without_smtp_nothing_is_emailed(app, classroom, create_lead):
    a, peer = classroom.user("studentA"), classroom.user("peerA")
    lead = create_lead(a, name="Zhao Min")
    client = classroom.client_for(app, "studentA")
    with mail.record_messages() as outbox:
        assert client.post(f"/leads/{lead.id}/transfer", data={"owner_id": str(peer.id)}).status_code == 302
    assert outbox == []
    db.session.expire_all()
    assert visible(peer.id)[0].emailed_at is None
