"""The signed-in user and viewer kept per worker (sandbox/kept_identity.py): kept only while the organisation's
version holds, and every change of users, positions or sharing moves it, whichever worker or process makes it.

"Two workers" here are two apps over one database: each has its own process memory (app.extensions), as two
gunicorn workers do; the real two-server test is tests/test_multiworker.py.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event, select, text, update

from sandbox import kept_identity
from sandbox.extensions import db
from sandbox.org.models import Role, SharingModeValue, User
from sandbox.org.services import create_user, set_sharing_mode, update_user
from sandbox.shared_state import OrgStamp
from tests.helpers import act_as, signed_in


def version() -> int:
    db.session.rollback()
    return db.session.scalar(select(OrgStamp.version).where(OrgStamp.id == 1))


def statements_of(app: Flask, client: Any, url: str) -> list[str]:
    """The SQL a request sends (the app's engine), and its status must be 200."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def loads_the_user(statements: list[str]) -> bool:
    # The sign-in loader's own statement: the user with its position joined.
    return any("FROM users LEFT OUTER JOIN positions" in s for s in statements)


def test_the_version_moves_with_org_changes_only_and_not_when_they_roll_back(app, classroom, create_lead):
    """ORM changes and Core statements on users, positions and sharing move it once per transaction; a
    business record, a rolled-back change and a read move nothing."""
    start = version()
    student = classroom.user("studentA")
    create_lead(student, name="Not an org change")
    assert version() == start

    act_as(classroom.user("teacher"))
    set_sharing_mode(classroom.user("teacher"), classroom.classes["A"], "lead", SharingModeValue.READ_ONLY)
    db.session.commit()
    assert version() == start + 1

    teacher = classroom.user("teacher")
    user = db.session.get(User, student.id)
    update_user(teacher, user, display_name="Renamed", email=user.email, role=Role.STUDENT,
                position=user.position, status=user.status)
    db.session.flush()
    db.session.execute(update(User).where(User.id == student.id).values(locale="en"))  # a second statement
    db.session.commit()
    assert version() == start + 2  # one move per transaction

    db.session.execute(update(User).where(User.id == student.id).values(display_name="Core"))
    db.session.rollback()
    assert version() == start + 2

    db.session.execute(update(User).where(User.id == student.id).values(display_name="Core"))
    db.session.commit()
    assert version() == start + 3

    db.session.execute(text("SELECT count(*) FROM users")).scalar()
    db.session.commit()
    assert version() == start + 3


def test_a_kept_user_is_served_without_loading_it_and_reloaded_after_any_org_change(app, classroom):
    """The second page of a signed-in student does not load the user; once anything of the organisation
    changed (here another user's name), the next page loads it again, then keeps it again."""
    client = signed_in(app.test_client(), "studentA")
    assert loads_the_user(statements_of(app, client, "/"))
    assert not loads_the_user(statements_of(app, client, "/"))
    db.session.execute(update(User).where(User.id == classroom.user("studentB").id).values(display_name="Someone"))
    db.session.commit()
    assert loads_the_user(statements_of(app, client, "/"))
    assert not loads_the_user(statements_of(app, client, "/leads/"))


def test_a_record_page_naming_the_signed_in_user_reads_no_position(app, classroom, create_lead):
    """A student's own lead names them as its owner, so the record's load reads their user row again; the kept
    user's position (the layout's user menu shows it) must survive that, not cost a SELECT of its own."""
    lead = create_lead(classroom.user("studentA"), name="Lead of studentA")
    client = signed_in(app.test_client(), "studentA")
    statements_of(app, client, f"/leads/{lead.id}")  # the first page loads and keeps the user
    seen = statements_of(app, client, f"/leads/{lead.id}")
    assert not loads_the_user(seen)
    assert not [s for s in seen if s.lstrip().startswith("SELECT positions.")], "the position was read again"
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "Lead of studentA" in page and "A1" in page  # the user menu still shows the position


def test_a_change_made_by_another_worker_is_seen_on_the_next_request(app, app_factory, classroom, create_lead):
    """Worker one keeps studentA; worker two (another app: other process memory) moves, shares and disables.
    Worker one's next request sees each change: the new position, the shared records, the ended session."""
    one, two = app, app_factory()
    client = signed_in(one.test_client(), "studentA")
    create_lead(classroom.user("studentA2"), name="Lead of the other department")
    assert "Lead of the other department" not in client.get("/leads/").get_data(as_text=True)
    assert "A1" in client.get("/").get_data(as_text=True)

    teacher = signed_in(two.test_client(), "teacher")
    page = teacher.get("/").get_data(as_text=True)
    assert page
    with two.app_context():
        actor = db.session.get(User, classroom.user("teacher").id)
        act_as(actor)
        set_sharing_mode(actor, db.session.get(type(classroom.classes["A"]), classroom.classes["A"].id), "lead",
                         SharingModeValue.READ_ONLY)
        db.session.commit()
    assert "Lead of the other department" in client.get("/leads/").get_data(as_text=True)

    with two.app_context():
        actor = db.session.get(User, classroom.user("teacher").id)
        act_as(actor)
        student = db.session.get(User, classroom.user("studentA").id)
        a2 = db.session.get(type(classroom.positions["A2"]), classroom.positions["A2"].id)
        update_user(actor, student, display_name=student.display_name, email=student.email, role=Role.STUDENT,
                    position=a2, status=student.status)
        db.session.commit()
    home = client.get("/").get_data(as_text=True)
    assert "A2" in home and "A1 ›" not in home

    with two.app_context():
        actor = db.session.get(User, classroom.user("teacher").id)
        act_as(actor)
        student = db.session.get(User, classroom.user("studentA").id)
        update_user(actor, student, display_name=student.display_name, email=student.email, role=Role.STUDENT,
                    position=student.position, status="disabled")
        db.session.commit()
    answer = client.get("/", follow_redirects=False)
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]


def test_whole_class_is_probed_on_every_request_not_kept(app, classroom, create_lead):
    """Two instructors on one class node: the kept viewer's one record-dependent field (whether the node
    sees the whole class) is asked again each request, so a record the co-instructor creates is not shown to
    the other, although nothing of the organisation changed."""
    klass = classroom.classes["A"]
    act_as(None)
    first = create_user(None, "nodeone", "Node One", "Passw0rd-node", Role.INSTRUCTOR, klass, email="n1@example.com")
    second = create_user(None, "nodetwo", "Node Two", "Passw0rd-node", Role.INSTRUCTOR, klass, email="n2@example.com")
    db.session.commit()
    client = app.test_client()
    assert client.post("/auth/login", data={"username": "nodeone", "password": "Passw0rd-node"}).status_code == 302
    create_lead(classroom.user("studentA"), name="Student lead")
    listed = client.get("/leads/").get_data(as_text=True)
    assert "Student lead" in listed
    stamp = version()
    create_lead(db.session.get(User, second.id), name="Co-instructor lead")
    assert version() == stamp
    listed = client.get("/leads/").get_data(as_text=True)
    assert "Student lead" in listed and "Co-instructor lead" not in listed
    assert first.id != second.id


def test_nothing_is_kept_without_the_stamp_row(app, classroom):
    """A database without the stamp's row (a tool that truncated it) still works: nothing is kept."""
    db.session.execute(OrgStamp.__table__.delete())
    db.session.commit()
    client = signed_in(app.test_client(), "studentA")
    assert loads_the_user(statements_of(app, client, "/"))
    assert loads_the_user(statements_of(app, client, "/"))
    assert kept_identity.ORG_TABLES >= {"users", "positions"}
