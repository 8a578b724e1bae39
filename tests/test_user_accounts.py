"""One user at a time (SPEC §3, §7.4): instructors add, edit and delete users of their subtree; deleting a user
the log or any record names disables and anonymises them; a rejected student can register again; positions
are shown with their path."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.org.models import Position, PositionKind, Status, User
from tests.conftest import PASSWORD, act_as, login
from tests.helpers import entries, text
from tests.test_admin import field_error

SYSTEM = {"skip_visibility": True}


def fresh(user: User) -> User | None:
    """The user as the database holds them now (None once deleted)."""
    db.session.expire_all()
    return db.session.get(User, user.id)


def by_username(username: str) -> User | None:
    """The user with this username, if any."""
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.username == username))


def new_user(client: Any, **changes: Any) -> Any:
    """Submit the new-user form (a valid one, changed by `changes`)."""
    data = {"username": "newstudent", "display_name": "New Student", "student_number": "2026099", "email": "",
            "role": "student", "position_id": "", "password": "", **changes}
    return client.post("/admin/users/new", data=data)


# ---- add ------------------------------------------------------------------------------------------------------


def test_instructor_adds_a_student_with_a_generated_password_shown_once(app, classroom):
    """Instructor adds a student with a generated password shown once."""
    teacher = classroom.client_for(app, "teacher")
    assert 'href="/admin/users/new"' in text(teacher.get("/admin/users"))
    assert teacher.get("/admin/users/new").status_code == 200

    response = new_user(teacher, position_id=classroom.positions["A2"].id, email="New@Example.com")

    assert response.status_code == 200
    page = text(response)
    temporary = re.search(r'data-testid="temporary-password">([^<]+)<', page).group(1)
    assert "User New Student added on Class A › A2 › Sales." in page
    user = by_username("newstudent")
    assert user.status == Status.ACTIVE and user.role == "student" and user.must_change_password
    assert user.position_id == classroom.positions["A2"].id and user.class_id == classroom.classes["A"].id
    assert user.email == "new@example.com" and user.student_number == "2026099"
    assert user.check_password(temporary)
    created = entries("user.create")[-1]
    assert created.object_id == user.id and created.actor_id == classroom.user("teacher").id


def test_a_chosen_password_needs_no_change_and_is_not_shown(app, classroom):
    """A chosen password needs no change and is not shown."""
    teacher = classroom.client_for(app, "teacher")
    response = new_user(teacher, position_id=classroom.positions["A1"].id, password="tea4sale9-oolong")
    assert response.status_code == 302
    user = by_username("newstudent")
    assert user.check_password("tea4sale9-oolong") and not user.must_change_password


@pytest.mark.parametrize("changes, field, message", [
    ({"username": "no spaces"}, "username", "Use 3–64 letters"),
    ({"username": "studentA"}, "username", "The username studentA is taken."),
    ({"email": "studenta@example.com"}, "email", "An account with this email exists already."),
    ({"email": "not-an-address"}, "email", "Invalid email address."),
    ({"position_id": ""}, "position_id", "Choose the position the user takes."),
    ({"position_id": "999999999999"}, "position_id", "Choose the position the user takes."),
    ({"position_id": "C1"}, "position_id", "outside the part of the tree you manage"),
    ({"role": "instructor"}, "role", "Not a valid choice"),
    ({"password": "short"}, "password", "at least"),
])
def test_adding_a_user_with_bad_input_says_what_is_wrong_and_adds_nobody(app, classroom, changes, field, message):
    """Adding a user with bad input says what is wrong and adds nobody."""
    teacher = classroom.client_for(app, "teacher")
    if changes.get("position_id") == "C1":
        changes = {**changes, "position_id": classroom.positions["C1"].id}
    before = db.session.scalar(select(func.count()).select_from(User))
    response = new_user(teacher, **{"position_id": classroom.positions["A1"].id, **changes})
    assert response.status_code == 400
    assert message in field_error(text(response), field)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == before


def test_students_and_observers_cannot_add_users(app, classroom):
    """Students and observers cannot add users."""
    for who in ("studentA", "readonlyA"):
        client = classroom.client_for(app, who)
        assert client.get("/admin/users/new").status_code == 403
        assert new_user(client, position_id=classroom.positions["A1"].id).status_code == 403
    assert by_username("newstudent") is None


def test_a_student_added_to_a_running_class_gets_a_book(app, classroom):
    """A student added to a running class gets a book."""
    from sandbox.classroom.runs.services import load_scenario

    act_as(classroom.user("teacher"))
    load_scenario(classroom.classes["A"], "sales-basics")
    db.session.commit()
    act_as(None)
    teacher = classroom.client_for(app, "teacher")
    assert new_user(teacher, position_id=classroom.positions["A1"].id).status_code == 200
    user = by_username("newstudent")
    leads = db.session.scalar(select(func.count()).select_from(Lead).where(Lead.owner_id == user.id)
                              .execution_options(**SYSTEM))
    assert leads == 100


# ---- delete ---------------------------------------------------------------------------------------------------


def test_deleting_a_user_nobody_refers_to_removes_them(app, classroom):
    """Deleting a user nobody refers to removes them."""
    from sandbox.org.services import add_group_member, create_group, create_user

    act_as(None)
    user = create_user(None, "mistake", "Typo Student", PASSWORD, "student", classroom.positions["A1"])
    group = create_group(classroom.user("teacher"), classroom.classes["A"], "Team")
    add_group_member(classroom.user("teacher"), group, user)
    db.session.commit()
    user_id = user.id
    teacher = classroom.client_for(app, "teacher")

    response = teacher.post(f"/admin/users/{user_id}/delete")

    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/users")
    assert "User Typo Student deleted." in text(teacher.get("/admin/users"))
    db.session.expire_all()
    assert db.session.get(User, user_id) is None
    deleted = entries("user.delete")
    assert len(deleted) == 1 and deleted[0].object_id == user_id and deleted[0].object_label == "Typo Student (mistake)"


def test_deleting_a_user_with_log_entries_disables_and_anonymises_them(app, classroom, make_lead):
    """Deleting a user with log entries disables and anonymises them."""
    student = classroom.user("studentA")
    lead = make_lead(student, name="Kept lead")
    login(app.test_client(), "studentA")
    logged = db.session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.actor_id == student.id))
    assert logged > 0
    teacher = classroom.client_for(app, "teacher")

    response = teacher.post(f"/admin/users/{student.id}/delete")

    assert response.status_code == 302
    assert "the account was disabled and anonymised instead" in text(teacher.get(response.headers["Location"]))
    user = fresh(student)
    assert user.username == f"deleted-{user.id}" and user.display_name == f"Deleted user #{user.id}"
    assert user.email is None and user.student_number is None and user.status == Status.DISABLED
    assert not user.check_password(PASSWORD)
    assert login(app.test_client(), "studentA").status_code == 401  # the old username signs nobody in
    # The log and the records stay whole: the lead keeps its owner, visible to the superiors as before.
    assert db.session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.actor_id == student.id)) == logged
    assert db.session.scalar(select(Lead.owner_id).where(Lead.id == lead.id).execution_options(**SYSTEM)) == student.id
    assert teacher.get(f"/leads/{lead.id}").status_code == 200
    assert classroom.client_for(app, "managerA").get(f"/leads/{lead.id}").status_code == 200
    anonymised = entries("user.anonymise")
    assert len(anonymised) == 1 and anonymised[0].params["was"] == "Studenta (studentA)"
    assert "disabled and anonymised user Studenta (studentA)" in text(teacher.get("/log/"))
    # Its username and email are free again.
    assert new_user(teacher, username="studentA", email="studenta@example.com",
                    position_id=classroom.positions["A1"].id).status_code == 200
    # Deleting the anonymised account again is refused with a message.
    again = teacher.post(f"/admin/users/{student.id}/delete")
    assert "was deleted already" in text(teacher.get(again.headers["Location"]))


def test_delete_only_within_the_subtree_and_never_oneself(app, classroom):
    """Delete only within the subtree and never oneself."""
    teacher = classroom.client_for(app, "teacher")
    for name in ("studentC", "admin", "teacher2"):
        assert teacher.post(f"/admin/users/{classroom.user(name).id}/delete").status_code == 404
        assert fresh(classroom.user(name)).status == Status.ACTIVE
    assert classroom.client_for(app, "studentA").post(f"/admin/users/{classroom.user('peerA').id}/delete").status_code == 403
    admin = classroom.client_for(app, "admin")
    response = admin.post(f"/admin/users/{classroom.user('admin').id}/delete")
    assert "You cannot delete your own account." in text(admin.get(response.headers["Location"]))
    assert fresh(classroom.user("admin")).status == Status.ACTIVE
    # The admin acts on every user (studentC never acted: removed outright).
    student_c = classroom.user("studentC").id
    assert admin.post(f"/admin/users/{student_c}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, student_c) is None


# ---- rejected students register again ----------------------------------------------------------------------------


REGISTRATION = {"username": "pendingA", "display_name": "Pending Again", "student_number": "", "confirm": "tea4sale9-oolong",
                "email": "pendinga@example.com", "password": "tea4sale9-oolong", "join_code": "JOINA"}


def test_a_rejected_student_can_register_again_with_the_same_username_and_email(app, classroom):
    """A rejected student can register again with the same username and email."""
    rejected = classroom.user("pendingA")
    teacher = classroom.client_for(app, "teacher")
    teacher.post("/admin/approvals", data={"user_ids": [rejected.id], "decision": "reject", "reason": "Wrong class",
                                           "position_id": "0", "role": "student"})
    refused = login(app.test_client(), "pendingA")
    assert "Wrong class" in text(refused) and "You may register again" in text(refused)

    response = app.test_client().post("/auth/register", data=REGISTRATION)

    assert response.status_code == 200 and "awaits approval" in text(response)
    again = by_username("pendingA")
    assert again.id != rejected.id and again.status == Status.PENDING and again.email == "pendinga@example.com"
    old = fresh(rejected)
    assert old.status == Status.REJECTED and old.username == f"rejected-{old.id}" and old.email is None
    assert old.reject_reason == "Wrong class"  # the decision stays, with its log entry
    released = entries("user.release")
    assert len(released) == 1 and released[0].object_id == old.id
    assert len(entries("user.reject")) == 1
    assert "Pending Again" in text(teacher.get("/admin/approvals"))


def test_a_pending_or_active_account_still_holds_its_username_and_email(app, classroom):
    """A pending or active account still holds its username and email."""
    client = app.test_client()
    response = client.post("/auth/register", data=REGISTRATION)  # pendingA is pending, not rejected
    assert "This username is taken" in text(response)
    response = client.post("/auth/register", data={**REGISTRATION, "username": "other1", "email": "studenta@example.com"})
    assert "An account with this email exists already." in text(response)
    assert entries("user.release") == []


# ---- positions with their path -----------------------------------------------------------------------------------


def test_positions_are_labelled_with_their_path(app, classroom):
    """Positions are labelled with their path."""
    sales = classroom.positions["A1"]
    assert sales.path_label == "A1 › Sales"
    assert sales.full_label == "Class A › A1 › Sales"
    assert classroom.departments["A1"].path_label == "A1"
    assert classroom.classes["A"].path_label == "Teacher Li › Class A"
    root = db.session.scalar(select(Position).where(Position.kind == PositionKind.ORGANIZATION))
    assert root.path_label == root.name


def test_pickers_the_user_list_and_the_menu_show_the_path(app, classroom):
    """Pickers the user list and the menu show the path."""
    teacher = classroom.client_for(app, "teacher")
    approvals = text(teacher.get("/admin/approvals"))
    assert re.search(rf'<option value="{classroom.positions["A2"].id}">Class A › A2 › Sales</option>', approvals)
    edit = text(teacher.get(f"/admin/users/{classroom.user('studentA').id}"))
    assert f'value="{classroom.positions["A1"].id}">Class A › A1 › Sales</option>' in edit
    users = text(teacher.get("/admin/users"))
    row = re.search(r'>studentA</a>.*?</tr>', users, re.S).group(0)
    assert "<td>A1 › Sales</td>" in row
    student = text(classroom.client_for(app, "studentA").get("/"))
    assert "studentA · Student · A1 › Sales" in student


def test_demo_accounts_list_positions_with_their_path(app):
    """Demo accounts list positions with their path."""
    result = app.test_cli_runner().invoke(args=["demo", "--password", "Demo2026-oolong"])
    assert result.exit_code == 0, result.output
    accounts = {line.split(", ")[0]: line.split(", ") for line in result.stdout.strip().splitlines()[1:]}
    assert accounts["a_s01"][3] == "销售一部 › 销售代表"
    assert accounts["a_manager"][3] == "销售一部"
    assert accounts["teacher"][3] == "张老师教研室"


def test_a_book_that_cannot_be_generated_refuses_the_new_user(app, classroom):
    """A book that cannot be generated refuses the new user."""
    from sandbox.classroom.runs.services import load_scenario

    act_as(classroom.user("teacher"))
    load_scenario(classroom.classes["A"], "sales-basics")
    db.session.commit()
    act_as(None)
    app.config["SCENARIO_MAX_RECORDS"] = 10
    teacher = classroom.client_for(app, "teacher")
    response = new_user(teacher, position_id=classroom.positions["A1"].id)
    assert response.status_code == 400
    assert "could not be given their books" in field_error(text(response), "position_id")
    assert by_username("newstudent") is None
