"""Administration: approvals, users, positions, sharing and the organisation profile (SPEC §3, §4, §7)."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.org import models
from sandbox.org.models import (
    Organization,
    Position,
    SharingGroup,
    SharingGroupMember,
    SharingMode,
    Status,
    User,
)
from tests import helpers
from tests.conftest import PASSWORD, act_as, login
from tests.helpers import entries, field_error, text


def flashed(client: Any, response: Any) -> str:
    """Follow a redirect and return the page it leads to (with its flashed messages)."""
    assert response.status_code == 302, response.status_code
    return text(client.get(response.headers["Location"]))


def fresh(obj: Any) -> Any:
    """The row of `obj` as the database holds it now."""
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


count = partial(helpers.count, expire=True)


def pending(username: str, klass: Position) -> User:
    """A new pending registration for `klass`."""
    from sandbox.auth.services import register_user

    act_as(None)
    user = register_user(username, username.title(), f"{username}@example.com", PASSWORD, klass, None)
    db.session.commit()
    return user


def decide(client: Any, users: list[User], decision: str = "approve", position: Any = 0, role: str = "student",
           reason: str = "") -> Any:
    """Submit the approval form as the browser does (every field present)."""
    position_id = position.id if isinstance(position, Position) else position
    return client.post("/admin/approvals", data={
        "user_ids": [u.id for u in users], "decision": decision, "position_id": position_id, "role": role,
        "reason": reason})


def user_errors(page: str) -> str:
    """The messages about the selected users, under the queue."""
    return re.search(r'data-testid="user-errors">(.*?)</div>\s*</div>', page, re.S).group(1)


def pending_table(page: str) -> str:
    """The table of pending registrations on the approval page."""
    return re.search(r'data-testid="pending-table">(.*?)</table>', page, re.S).group(1)


# ---- approvals ----------------------------------------------------------------------------------------------------


def test_instructor_sees_only_pending_users_of_own_classes(app, classroom):
    """Instructor sees only pending users of own classes."""
    pending("pendingc", classroom.classes["C"])
    teacher = pending_table(text(classroom.client_for(app, "teacher").get("/admin/approvals")))
    assert "pendingA" in teacher
    assert "pendingc" not in teacher
    assert "studentA" not in teacher  # active users are not in the queue
    teacher2 = pending_table(text(classroom.client_for(app, "teacher2").get("/admin/approvals")))
    assert "pendingc" in teacher2
    assert "pendingA" not in teacher2
    admin = pending_table(text(classroom.client_for(app, "admin").get("/admin/approvals")))
    assert "pendingA" in admin and "pendingc" in admin


@pytest.mark.parametrize("who", ["studentA", "managerA", "readonlyA"])
def test_students_and_observers_cannot_open_the_approval_queue(app, classroom, who):
    """Students and observers cannot open the approval queue."""
    client = classroom.client_for(app, who)
    assert client.get("/admin/approvals").status_code == 403
    response = decide(client, [classroom.user("pendingA")], position=classroom.positions["A1"])
    assert response.status_code == 403
    assert fresh(classroom.user("pendingA")).status == Status.PENDING
    for path in ("/admin/users", "/admin/roster", "/admin/positions", "/admin/sharing", "/admin/organization",
                 f"/admin/users/{classroom.user('peerA').id}"):
        assert client.get(path).status_code == 403, path


def test_bulk_approval_places_everyone_on_the_position_with_the_role(app, classroom):
    """Bulk approval places everyone on the position with the role."""
    users = [classroom.user("pendingA"), pending("second", classroom.classes["A"]), pending("third", classroom.classes["A"])]
    teacher = classroom.client_for(app, "teacher")
    response = decide(teacher, users, position=classroom.positions["A2"])
    page = flashed(teacher, response)
    assert "3 user(s) approved onto Class A › A2 › Sales." in page  # the position with its path
    assert "Nobody is waiting" in page
    for user in users:
        user = fresh(user)
        assert user.status == Status.ACTIVE
        assert user.position_id == classroom.positions["A2"].id
        assert user.class_id == classroom.classes["A"].id
        assert user.role == "student"
    logged = entries("user.approve")
    assert sorted(e.object_id for e in logged) == sorted(u.id for u in users)
    assert {e.actor_id for e in logged} == {classroom.user("teacher").id}
    assert login(app.test_client(), "second").status_code == 302


def test_approval_as_read_only_observer(app, classroom):
    """Approval as read only observer."""
    teacher = classroom.client_for(app, "teacher")
    response = decide(teacher, [classroom.user("pendingA")], position=classroom.classes["A"], role="readonly")
    assert response.status_code == 302
    user = fresh(classroom.user("pendingA"))
    assert (user.status, user.role, user.position_id) == (Status.ACTIVE, "readonly", classroom.classes["A"].id)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("C1", "outside the part of the tree you manage"),
        ("teacher2-node", "outside the part of the tree you manage"),
        ("root", "outside the part of the tree you manage"),
        ("own-teacher-node", "must be placed inside a class"),
        ("none", "Choose the position to place the students on."),
        ("missing", "Choose the position to place the students on."),
        ("huge", "Choose the position to place the students on."),
    ],
)
def test_approval_onto_a_position_outside_the_subtree_is_refused(app, classroom, where, message):
    """Approval onto a position outside the subtree is refused."""
    positions = {
        "C1": classroom.positions["C1"], "root": classroom.root, "own-teacher-node": classroom.teacher_node,
        "teacher2-node": classroom.user("teacher2").position, "none": 0, "missing": 987654,
        "huge": 99999999999999999999,
    }
    teacher = classroom.client_for(app, "teacher")
    response = decide(teacher, [classroom.user("pendingA")], position=positions[where])
    assert response.status_code == 400
    assert message in field_error(text(response), "position_id")
    user = fresh(classroom.user("pendingA"))
    assert (user.status, user.position_id) == (Status.PENDING, None)
    assert entries("user.approve") == []


def test_approving_an_already_decided_user_refuses_the_whole_batch(app, classroom):
    """Approving an already decided user refuses the whole batch."""
    second = pending("second", classroom.classes["A"])
    teacher = classroom.client_for(app, "teacher")
    batch = [classroom.user("pendingA"), second, classroom.user("peerA")]
    response = decide(teacher, batch, position=classroom.positions["A2"])
    assert response.status_code == 400
    assert "Peera was already decided (active)." in user_errors(text(response))
    for user in batch[:2]:
        assert fresh(user).status == Status.PENDING
        assert fresh(user).position_id is None
    assert fresh(classroom.user("peerA")).position_id == classroom.positions["A1"].id
    assert entries("user.approve") == []
    # The queue is still shown so the instructor can untick the decided one.
    assert "second" in pending_table(text(response))


def test_a_rejected_user_cannot_be_approved_later(app, classroom):
    """A rejected user cannot be approved later."""
    teacher = classroom.client_for(app, "teacher")
    assert decide(teacher, [classroom.user("pendingA")], "reject", reason="Wrong course").status_code == 302
    response = decide(teacher, [classroom.user("pendingA")], position=classroom.positions["A1"])
    assert response.status_code == 400
    assert "already decided (rejected)" in text(response)
    assert fresh(classroom.user("pendingA")).status == Status.REJECTED


@pytest.mark.parametrize("reason", ["", "   "])
def test_rejection_requires_a_reason(app, classroom, reason):
    """Rejection requires a reason."""
    teacher = classroom.client_for(app, "teacher")
    response = decide(teacher, [classroom.user("pendingA")], "reject", reason=reason)
    assert response.status_code == 400
    assert field_error(text(response), "reason") == "Give the student a reason for the rejection."
    assert fresh(classroom.user("pendingA")).status == Status.PENDING
    assert entries("user.reject") == []


def test_bulk_rejection_with_a_reason(app, classroom):
    """Bulk rejection with a reason."""
    users = [classroom.user("pendingA"), pending("second", classroom.classes["A"])]
    teacher = classroom.client_for(app, "teacher")
    page = flashed(teacher, decide(teacher, users, "reject", reason="Not enrolled in this course"))
    assert "2 registration(s) rejected." in page
    for user in users:
        user = fresh(user)
        assert user.status == Status.REJECTED
        assert user.reject_reason == "Not enrolled in this course"
        assert user.position_id is None
    assert sorted(e.object_id for e in entries("user.reject")) == sorted(u.id for u in users)


def test_another_instructor_cannot_decide_on_my_students(app, classroom):
    """Another instructor cannot decide on my students."""
    teacher2 = classroom.client_for(app, "teacher2")
    response = decide(teacher2, [classroom.user("pendingA")], position=classroom.positions["C1"])
    assert response.status_code == 400
    assert "not a valid choice" in user_errors(text(response))
    assert fresh(classroom.user("pendingA")).status == Status.PENDING
    response = decide(teacher2, [classroom.user("pendingA")], "reject", reason="mine now")
    assert response.status_code == 400
    assert fresh(classroom.user("pendingA")).status == Status.PENDING


@pytest.mark.parametrize("role", ["instructor", "admin"])
def test_instructor_cannot_approve_staff_roles(app, classroom, role):
    """Instructor cannot approve staff roles."""
    teacher = classroom.client_for(app, "teacher")
    response = decide(teacher, [classroom.user("pendingA")], position=classroom.positions["A1"], role=role)
    assert response.status_code == 400
    assert field_error(text(response), "role")
    assert fresh(classroom.user("pendingA")).status == Status.PENDING


def test_approval_without_anyone_selected_is_explained(app, classroom):
    """Approval without anyone selected is explained."""
    teacher = classroom.client_for(app, "teacher")
    response = decide(teacher, [], position=classroom.positions["A1"])
    assert response.status_code == 400
    assert "This field is required." in user_errors(text(response))
    assert fresh(classroom.user("pendingA")).status == Status.PENDING


# ---- users ---------------------------------------------------------------------------------------------------------


def user_form(user: User, **changes: Any) -> dict[str, Any]:
    """The user edit form as the browser sends it, with `changes`."""
    data = {"display_name": user.display_name, "student_number": user.student_number or "", "email": user.email or "",
            "role": user.role, "position_id": user.position_id or 0, "status": user.status}
    return {**data, **changes}


def test_user_list_shows_only_the_instructors_users(app, classroom):
    """User list shows only the instructors users."""
    teacher = classroom.client_for(app, "teacher")
    page = text(teacher.get("/admin/users"))
    for name in ("studentA", "studentB", "readonlyA", "pendingA", "managerA"):
        assert f">{name}</a>" in page
    for name in ("studentC", "teacher2", "admin"):
        assert f">{name}</a>" not in page
    page = text(teacher.get("/admin/users", query_string={"status": "pending"}))
    assert ">pendingA</a>" in page and ">studentA</a>" not in page
    page = text(teacher.get("/admin/users", query_string={"class_id": classroom.classes["B"].id}))
    assert ">studentB</a>" in page and ">studentA</a>" not in page
    page = text(teacher.get("/admin/users", query_string={"q": "student"}))
    assert ">studentA</a>" in page and ">managerA</a>" not in page
    # % and _ are searched literally.
    for q in ("stud%", "student_", "%"):
        assert "No users match." in text(teacher.get("/admin/users", query_string={"q": q})), q


@pytest.mark.parametrize("query", ["class_id=abc", "class_id=99999999999999999999", "status=evil", "q=%25%27%22",
                                   "class_id=-1"])
def test_user_list_survives_malformed_queries(app, classroom, query):
    """User list survives malformed queries."""
    teacher = classroom.client_for(app, "teacher")
    assert teacher.get(f"/admin/users?{query}").status_code == 200


def test_instructor_edits_role_and_position(app, classroom):
    """Instructor edits role and position."""
    teacher = classroom.client_for(app, "teacher")
    peer = classroom.user("peerA")
    response = teacher.post(f"/admin/users/{peer.id}", data=user_form(
        peer, display_name="Peer Renamed", role="readonly", position_id=classroom.positions["A2"].id,
        student_number="S-42"))
    assert "User saved." in flashed(teacher, response)
    peer = fresh(peer)
    assert (peer.display_name, peer.role, peer.position_id, peer.student_number) == (
        "Peer Renamed", "readonly", classroom.positions["A2"].id, "S-42")
    entry = entries("user.update")[-1]
    assert entry.object_id == peer.id
    assert entry.changes["fields"]["role"] == ["student", "readonly"]


@pytest.mark.parametrize("role", ["instructor", "admin"])
def test_instructor_cannot_grant_staff_roles(app, classroom, role):
    """Instructor cannot grant staff roles."""
    teacher = classroom.client_for(app, "teacher")
    student = classroom.user("studentA")
    response = teacher.post(f"/admin/users/{student.id}", data=user_form(student, role=role))
    assert response.status_code == 400
    assert field_error(text(response), "role")
    assert fresh(student).role == "student"
    assert entries("user.update") == []


def test_admin_can_make_an_instructor(app, classroom):
    """Admin can make an instructor."""
    admin = classroom.client_for(app, "admin")
    student = classroom.user("studentC")
    response = admin.post(f"/admin/users/{student.id}", data=user_form(
        student, role="instructor", position_id=classroom.user("teacher2").position_id))
    assert response.status_code == 302
    assert fresh(student).role == "instructor"


def test_instructor_cannot_place_a_user_outside_the_subtree(app, classroom):
    """Instructor cannot place a user outside the subtree."""
    teacher = classroom.client_for(app, "teacher")
    student = classroom.user("studentA")
    response = teacher.post(f"/admin/users/{student.id}", data=user_form(
        student, position_id=classroom.positions["C1"].id))
    assert response.status_code == 400
    assert field_error(text(response), "position_id")
    assert fresh(student).position_id == classroom.positions["A1"].id


def test_users_outside_the_subtree_are_not_found(app, classroom):
    """Users outside the subtree are not found."""
    teacher = classroom.client_for(app, "teacher")
    for name in ("studentC", "admin", "teacher2", "teacher"):
        user = classroom.user(name)
        assert teacher.get(f"/admin/users/{user.id}").status_code == 404, name
        assert teacher.post(f"/admin/users/{user.id}", data=user_form(user, status="disabled")).status_code == 404
        assert teacher.post(f"/admin/users/{user.id}/password-reset").status_code == 404
        assert fresh(user).status == Status.ACTIVE
    assert teacher.get("/admin/users/99999999999999999999").status_code == 404
    assert teacher.get("/admin/users/0").status_code == 404


def test_user_edit_refuses_a_taken_email_and_keeps_the_input(app, classroom):
    """User edit refuses a taken email and keeps the input."""
    teacher = classroom.client_for(app, "teacher")
    student = classroom.user("studentA")
    response = teacher.post(f"/admin/users/{student.id}", data=user_form(
        student, display_name="Typed Name", email="PeerA@Example.com"))
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "email") == "An account with this email exists already."
    assert 'value="Typed Name"' in page
    student = fresh(student)
    assert (student.display_name, student.email) == ("Studenta", "studenta@example.com")


def test_admin_cannot_disable_themselves(app, classroom):
    """Admin cannot disable themselves."""
    admin = classroom.client_for(app, "admin")
    me = classroom.user("admin")
    response = admin.post(f"/admin/users/{me.id}", data=user_form(me, status="disabled"))
    assert response.status_code == 400
    assert "You cannot disable yourself" in field_error(text(response), "status")
    assert fresh(me).status == Status.ACTIVE
    assert admin.get("/").status_code == 200


def test_status_can_only_be_active_or_disabled(app, classroom):
    """Status can only be active or disabled."""
    teacher = classroom.client_for(app, "teacher")
    student = classroom.user("studentA")
    for status in ("pending", "rejected", "boss"):
        response = teacher.post(f"/admin/users/{student.id}", data=user_form(student, status=status))
        assert response.status_code == 400
        assert field_error(text(response), "status")
        assert fresh(student).status == Status.ACTIVE


def test_disable_and_enable_again(app, classroom):
    """Disable and enable again."""
    teacher = classroom.client_for(app, "teacher")
    student = classroom.user("studentA")
    assert teacher.post(f"/admin/users/{student.id}", data=user_form(student, status="disabled")).status_code == 302
    assert login(app.test_client(), "studentA").status_code == 401
    assert teacher.post(f"/admin/users/{student.id}", data=user_form(student, status="active")).status_code == 302
    assert login(app.test_client(), "studentA").status_code == 302


def test_moving_a_student_to_another_class_moves_their_records(app, classroom, make_lead):
    """Moving a student to another class moves their records."""
    from sandbox.records.services import delete_record

    student = classroom.user("studentA")
    kept = make_lead(student, name="Kept")
    binned = make_lead(student, name="Binned")
    other = make_lead(classroom.user("peerA"), name="Peer's")
    act_as(student)
    delete_record(binned)
    db.session.commit()
    act_as(None)
    manager = classroom.client_for(app, "managerA")
    assert manager.get(f"/leads/{kept.id}").status_code == 200
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post(f"/admin/users/{student.id}", data=user_form(student, position_id=classroom.positions["B1"].id))
    assert response.status_code == 302
    student = fresh(student)
    assert (student.class_id, student.position_id) == (classroom.classes["B"].id, classroom.positions["B1"].id)
    db.session.expire_all()
    classes = dict(db.session.execute(
        select(Lead.id, Lead.class_id).execution_options(skip_visibility=True)).all())
    assert classes[kept.id] == classroom.classes["B"].id
    assert classes[binned.id] == classroom.classes["B"].id
    assert classes[other.id] == classroom.classes["A"].id
    # The old superior lost sight of them; the student and the new class keep them.
    assert manager.get(f"/leads/{kept.id}").status_code == 404
    mover = classroom.client_for(app, "studentA")
    assert mover.get(f"/leads/{kept.id}").status_code == 200
    assert "Kept" in text(mover.get("/leads/"))


def test_password_reset_shows_a_temporary_password_once(app, classroom):
    """Password reset shows a temporary password once."""
    teacher = classroom.client_for(app, "teacher")
    student_session = classroom.client_for(app, "studentA")
    student = classroom.user("studentA")
    version = fresh(student).session_version
    response = teacher.post(f"/admin/users/{student.id}/password-reset")
    assert response.status_code == 200
    page = text(response)
    temporary = re.search(r'data-testid="temporary-password">([^<]+)<', page).group(1).strip()
    assert "it will not be shown again" in page
    student = fresh(student)
    assert student.must_change_password is True
    assert student.check_password(temporary)
    assert not student.check_password(PASSWORD)
    assert student.session_version == version + 1
    assert entries("user.password_reset")[-1].object_id == student.id
    assert temporary not in str(entries("user.password_reset")[-1].changes)
    # Not shown again anywhere.
    assert temporary not in text(teacher.get(f"/admin/users/{student.id}"))
    assert temporary not in text(teacher.get("/admin/users"))
    # The student's open session ended; the temporary password must be changed at sign-in.
    assert student_session.get("/").status_code == 302
    client = app.test_client()
    response = login(client, "studentA", temporary)
    assert response.headers["Location"].endswith("/auth/password")
    assert client.get("/leads/").headers["Location"].endswith("/auth/password")


def test_password_reset_is_a_post(app, classroom):
    """Password reset is a post."""
    teacher = classroom.client_for(app, "teacher")
    student = classroom.user("studentA")
    assert teacher.get(f"/admin/users/{student.id}/password-reset").status_code == 405
    assert fresh(student).must_change_password is False


# ---- positions -------------------------------------------------------------------------------------------------------


def tree(page: str) -> str:
    """The position tree part of the positions page."""
    return re.search(r'data-testid="tree">(.*?)</div>', page, re.S).group(1)


def children(parent: Position) -> list[Position]:
    """The positions directly under `parent`."""
    db.session.expire_all()
    return list(db.session.scalars(select(Position).where(Position.parent_id == parent.id).order_by(Position.id)))


def test_tree_shows_only_the_instructors_subtree(app, classroom):
    """Tree shows only the instructors subtree."""
    mine = tree(text(classroom.client_for(app, "teacher").get("/admin/positions")))
    assert "Class A" in mine and "Class B" in mine and "Class C" not in mine and "Teacher Wang" not in mine
    theirs = tree(text(classroom.client_for(app, "teacher2").get("/admin/positions")))
    assert "Class C" in theirs and "Class A" not in theirs


def test_class_wizard_creates_class_departments_and_salespeople(app, classroom):
    """Class wizard creates class departments and salespeople."""
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/admin/positions/wizard", data={
        "parent_id": classroom.teacher_node.id, "name": "Class D", "departments": "East\r\nSouth\r\n\r\nNorth",
        "join_code": "joind", "registration_open": "y"})
    assert "Class “Class D” created with" in flashed(teacher, response)
    klass = db.session.scalar(select(Position).where(Position.name == "Class D"))
    assert (klass.kind, klass.parent_id, klass.join_code, klass.registration_open) == (
        "class", classroom.teacher_node.id, "JOIND", True)
    assert klass.class_id == klass.id
    departments = children(klass)
    assert [(d.name, d.kind) for d in departments] == [("East", "department"), ("South", "department"),
                                                       ("North", "department")]
    for dept in departments:
        below = children(dept)
        assert [(p.kind, p.class_id) for p in below] == [("position", klass.id)]
        assert below[0].path.startswith(dept.path)
    assert len(entries("position.create")) >= 7
    # Students can register into it straight away with its code.
    response = app.test_client().post("/auth/register", data={
        "username": "newbie", "display_name": "New", "email": "newbie@example.com", "password": "tea4sale2026",
        "confirm": "tea4sale2026", "join_code": "JOIND"})
    assert response.status_code == 200
    assert db.session.scalar(select(User).where(User.username == "newbie")).class_id == klass.id


def test_class_wizard_by_count(app, classroom):
    """Class wizard by count."""
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/admin/positions/wizard", data={
        "parent_id": classroom.teacher_node.id, "name": "Class E", "departments": "ignored", "count": "4"})
    assert response.status_code == 302
    klass = db.session.scalar(select(Position).where(Position.name == "Class E"))
    assert [d.name for d in children(klass)] == [f"Department {n}" for n in range(1, 5)]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"departments": "East\nEast"}, "departments", "Department names must differ."),
        ({"departments": "  \n "}, "departments", "This field is required."),
        ({"join_code": "joina"}, "join_code", "Another class already uses this join code."),
        ({"join_code": "a b!"}, "join_code", "A join code has 4–32 letters, digits or dashes."),
        ({"name": ""}, "name", "This field is required."),
        ({"count": "99"}, "count", "between 1 and 30"),
        ({"parent_id": "teacher2"}, "parent_id", "Not a valid choice"),
    ],
)
def test_class_wizard_refusals_create_nothing(app, classroom, changes, field, message):
    """Class wizard refusals create nothing."""
    if changes.get("parent_id") == "teacher2":
        changes = {"parent_id": classroom.user("teacher2").position_id}
    teacher = classroom.client_for(app, "teacher")
    before = count(Position)
    data = {"parent_id": classroom.teacher_node.id, "name": "Class D", "departments": "East\nSouth",
            "join_code": "JOIND", **changes}
    response = teacher.post("/admin/positions/wizard", data=data)
    assert response.status_code == 400
    page = text(response)
    assert message in field_error(page, field)
    assert count(Position) == before
    assert 'value="Class D"' in page or changes.get("name") == ""


def test_add_position_follows_the_kind_rules(app, classroom):
    """Add position follows the kind rules."""
    teacher = classroom.client_for(app, "teacher")
    klass = classroom.classes["A"]
    response = teacher.post("/admin/positions/add", data={"parent_id": klass.id, "kind": "department", "name": "A3"})
    assert "Position “A3” added." in flashed(teacher, response)
    added = db.session.scalar(select(Position).where(Position.name == "A3"))
    assert (added.kind, added.parent_id, added.class_id) == ("department", klass.id, klass.id)
    before = count(Position)
    refused = [
        (classroom.departments["A1"].id, "class", "A class under a department"),
        (klass.id, "class", "A class under a class"),
        (classroom.positions["A1"].id, "department", "A department under a position"),
        (klass.id, "teacher", "A teacher under a class"),
    ]
    for parent_id, kind, name in refused:
        response = teacher.post("/admin/positions/add", data={"parent_id": parent_id, "kind": kind, "name": name})
        assert response.status_code == 400, name
        assert "cannot be placed under" in field_error(text(response), "kind", form="/admin/positions/add"), name
    assert count(Position) == before


def test_add_position_elsewhere_or_as_a_root_is_refused(app, classroom):
    """Add position elsewhere or as a root is refused."""
    teacher = classroom.client_for(app, "teacher")
    before = count(Position)
    response = teacher.post("/admin/positions/add", data={
        "parent_id": classroom.classes["C"].id, "kind": "department", "name": "Sneaky"})
    assert response.status_code == 400
    assert "Not a valid choice" in field_error(text(response), "parent_id", form="/admin/positions/add")
    response = teacher.post("/admin/positions/add", data={
        "parent_id": classroom.classes["A"].id, "kind": "organization", "name": "Second root"})
    assert response.status_code == 400
    assert "Not a valid choice" in field_error(text(response), "kind", form="/admin/positions/add")
    assert count(Position) == before


def test_instructor_cannot_edit_outside_the_subtree(app, classroom):
    """Instructor cannot edit outside the subtree."""
    teacher = classroom.client_for(app, "teacher")
    for position in (classroom.classes["C"], classroom.positions["C1"], classroom.root,
                     classroom.user("teacher2").position):
        name = position.name
        assert teacher.get(f"/admin/positions/{position.id}").status_code == 404
        assert teacher.post(f"/admin/positions/{position.id}", data={"name": "Mine now"}).status_code == 404
        assert teacher.post(f"/admin/positions/{position.id}/delete").status_code == 404
        assert fresh(position).name == name
    assert teacher.get("/admin/positions/99999999999999999999").status_code == 404


def test_rename_class_and_join_code_rules(app, classroom):
    """Rename class and join code rules."""
    teacher = classroom.client_for(app, "teacher")
    klass = classroom.classes["A"]
    response = teacher.post(f"/admin/positions/{klass.id}", data={"name": "Class A (spring)", "join_code": "joinb"})
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "join_code") == "Another class already uses this join code."
    assert 'value="Class A (spring)"' in page
    klass = fresh(klass)
    assert (klass.name, klass.join_code) == ("Class A", "JOINA")
    response = teacher.post(f"/admin/positions/{klass.id}", data={"name": "Class A (spring)", "join_code": "spring-a",
                                                                   "registration_open": "y"})
    assert response.status_code == 302
    klass = fresh(klass)
    assert (klass.name, klass.join_code, klass.registration_open) == ("Class A (spring)", "SPRING-A", True)


def test_instructor_cannot_rename_their_own_node(app, classroom):
    """Instructor cannot rename their own node."""
    teacher = classroom.client_for(app, "teacher")
    node = classroom.teacher_node
    response = teacher.post(f"/admin/positions/{node.id}", data={"name": "Renamed"})
    assert response.status_code == 400
    assert "outside the part of the tree you manage" in text(response)
    assert fresh(node).name == "Teacher Li"


def test_deleting_a_position_with_users_or_children_is_refused(app, classroom):
    """Deleting a position with users or children is refused."""
    teacher = classroom.client_for(app, "teacher")
    before = count(Position)
    cases = [
        (classroom.positions["A1"], "2 user(s) still hold or wait for “Sales”"),
        (classroom.departments["A1"], "“A1” still has positions under it"),
        (classroom.classes["A"], "“Class A” still has positions under it"),
        (classroom.teacher_node, "outside the part of the tree you manage"),
    ]
    for position, message in cases:
        page = flashed(teacher, teacher.post(f"/admin/positions/{position.id}/delete"))
        assert message in page, message
        assert fresh(position) is not None
    assert count(Position) == before
    assert entries("position.delete") == []


def test_deleting_a_class_someone_waits_for_is_refused(app, classroom):
    """Deleting a class someone waits for is refused."""
    admin = classroom.client_for(app, "admin")
    klass = classroom.classes["A"]
    # Empty the class of positions and users first, except the pending registration.
    act_as(None)
    for user in db.session.scalars(select(User).where(User.class_id == klass.id, User.status == Status.ACTIVE)):
        from sandbox.org.services import update_user

        update_user(classroom.user("admin"), user, display_name=user.display_name, email=user.email,
                    role=user.role, position=classroom.positions["B1"], status=Status.ACTIVE)
    db.session.commit()
    for dept in children(klass):
        for leaf in children(dept):
            assert admin.post(f"/admin/positions/{leaf.id}/delete").status_code == 302
        assert admin.post(f"/admin/positions/{dept.id}/delete").status_code == 302
    assert children(klass) == []
    page = flashed(admin, admin.post(f"/admin/positions/{klass.id}/delete"))
    assert "1 user(s) still hold or wait for “Class A”" in page
    assert fresh(klass) is not None


def test_deleting_an_empty_position(app, classroom):
    """Deleting an empty position."""
    teacher = classroom.client_for(app, "teacher")
    teacher.post("/admin/positions/add", data={
        "parent_id": classroom.departments["A2"].id, "kind": "position", "name": "Intern"})
    intern_id = db.session.scalar(select(Position.id).where(Position.name == "Intern"))
    page = flashed(teacher, teacher.post(f"/admin/positions/{intern_id}/delete"))
    assert "Position “Intern” deleted." in page
    db.session.expire_all()
    assert db.session.scalar(select(Position).where(Position.name == "Intern")) is None
    assert entries("position.delete")[-1].object_id == intern_id


# ---- sharing ----------------------------------------------------------------------------------------------------------


def modes(klass: Position) -> dict[str, str]:
    """The class's sharing modes, record type -> mode."""
    db.session.expire_all()
    return dict(db.session.execute(
        select(SharingMode.record_type, SharingMode.mode).where(SharingMode.class_id == klass.id)).all())


def sharing_form(klass: Position, **chosen: str) -> dict[str, Any]:
    """The sharing form of `klass` with the chosen modes (others private)."""
    data: dict[str, Any] = {"class_id": klass.id}
    for record_type in models.SHARING_TYPES:
        data[f"mode_{record_type}"] = chosen.get(record_type, "private")
    return data


def test_sharing_modes_are_set_per_class(app, classroom, make_lead):
    """Sharing modes are set per class."""
    lead = make_lead(classroom.user("studentA"))
    peer = classroom.client_for(app, "peerA")
    assert peer.get(f"/leads/{lead.id}").status_code == 404
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/admin/sharing", data=sharing_form(classroom.classes["A"], lead="read_write",
                                                                account="read_only"))
    assert "Sharing modes saved for Class A." in flashed(teacher, response)
    assert modes(classroom.classes["A"]) == {"lead": "read_write", "account": "read_only"}
    assert modes(classroom.classes["B"]) == {}
    assert len(entries("sharing.set")) == 2
    peer = classroom.client_for(app, "peerA")  # the viewer is computed at each request; a new sign-in is not needed
    assert peer.get(f"/leads/{lead.id}").status_code == 200
    assert classroom.client_for(app, "studentB").get(f"/leads/{lead.id}").status_code == 404
    # Back to private.
    teacher.post("/admin/sharing", data=sharing_form(classroom.classes["A"]))
    assert set(modes(classroom.classes["A"]).values()) == {"private"}
    assert peer.get(f"/leads/{lead.id}").status_code == 404


def test_unknown_sharing_mode_changes_nothing(app, classroom):
    """Unknown sharing mode changes nothing."""
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/admin/sharing", data=sharing_form(classroom.classes["A"], lead="read_write",
                                                                campaign="everyone"))
    assert "Unknown record type or sharing mode." in flashed(teacher, response)
    assert modes(classroom.classes["A"]) == {}


def test_sharing_of_another_instructors_class_is_not_found(app, classroom):
    """Sharing of another instructors class is not found."""
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post("/admin/sharing", data=sharing_form(classroom.classes["C"], lead="read_write"))
    assert response.status_code == 404
    assert modes(classroom.classes["C"]) == {}
    assert teacher.get("/admin/sharing", query_string={"class_id": classroom.classes["C"].id}).status_code == 404
    for value in ("abc", "99999999999999999999"):
        assert teacher.get("/admin/sharing", query_string={"class_id": value}).status_code in (200, 404)


def group_named(name: str) -> SharingGroup | None:
    """The sharing group of this name, if any."""
    db.session.expire_all()
    return db.session.scalar(select(SharingGroup).where(SharingGroup.name == name))


def members(group: SharingGroup) -> set[int]:
    """The user ids of a sharing group's members."""
    db.session.expire_all()
    return set(db.session.scalars(select(SharingGroupMember.user_id).where(SharingGroupMember.group_id == group.id)))


def test_sharing_groups_accept_only_active_users_of_their_class(app, classroom, make_lead):
    """Sharing groups accept only active users of their class."""
    teacher = classroom.client_for(app, "teacher")
    klass = classroom.classes["A"]
    assert "Sharing group created." in flashed(teacher, teacher.post("/admin/sharing/groups", data={
        "class_id": klass.id, "name": "Team East"}))
    group = group_named("Team East")
    assert group.class_id == klass.id
    add = f"/admin/sharing/groups/{group.id}/members"
    for name in ("studentA", "studentA2"):
        user = classroom.user(name)
        assert f"{user.display_name} joined Team East." in flashed(teacher, teacher.post(add, data={"user_id": user.id}))
    for name in ("studentB", "studentC", "pendingA", "teacher"):
        page = flashed(teacher, teacher.post(add, data={"user_id": classroom.user(name).id}))
        assert "Only active users of the group's class can join it." in page, name
    for value in ("abc", "0", "987654", "99999999999999999999", ""):
        assert "Choose a student of this class." in flashed(teacher, teacher.post(add, data={"user_id": value}))
    page = flashed(teacher, teacher.post(add, data={"user_id": classroom.user("studentA").id}))
    assert "is already a member" in page
    assert members(group) == {classroom.user("studentA").id, classroom.user("studentA2").id}
    # Members read each other's records.
    lead = make_lead(classroom.user("studentA"))
    assert classroom.client_for(app, "studentA2").get(f"/leads/{lead.id}").status_code == 200
    assert classroom.client_for(app, "peerA").get(f"/leads/{lead.id}").status_code == 404
    # Remove a member, then the group.
    member = db.session.scalar(select(SharingGroupMember).where(
        SharingGroupMember.group_id == group.id, SharingGroupMember.user_id == classroom.user("studentA2").id))
    assert "Member removed." in flashed(teacher, teacher.post(f"/admin/sharing/members/{member.id}/remove"))
    assert members(group) == {classroom.user("studentA").id}
    assert classroom.client_for(app, "studentA2").get(f"/leads/{lead.id}").status_code == 404
    assert "Sharing group deleted." in flashed(teacher, teacher.post(f"/admin/sharing/groups/{group.id}/delete"))
    assert group_named("Team East") is None


def test_groups_of_another_instructors_class_are_out_of_reach(app, classroom):
    """Groups of another instructors class are out of reach."""
    teacher = classroom.client_for(app, "teacher")
    teacher.post("/admin/sharing/groups", data={"class_id": classroom.classes["A"].id, "name": "Team East"})
    group = group_named("Team East")
    teacher2 = classroom.client_for(app, "teacher2")
    response = teacher2.post(f"/admin/sharing/groups/{group.id}/members", data={"user_id": classroom.user("studentA").id})
    assert response.status_code == 404
    assert teacher2.post(f"/admin/sharing/groups/{group.id}/delete").status_code == 404
    assert members(group) == set()
    assert group_named("Team East") is not None
    # Nor can a group be made in their class.
    before = count(SharingGroup)
    page = flashed(teacher2, teacher2.post("/admin/sharing/groups", data={
        "class_id": classroom.classes["A"].id, "name": "Intruders"}))
    assert "Choose one of your classes." in page
    assert count(SharingGroup) == before


def test_group_needs_a_name(app, classroom):
    """Group needs a name."""
    teacher = classroom.client_for(app, "teacher")
    page = flashed(teacher, teacher.post("/admin/sharing/groups", data={"class_id": classroom.classes["A"].id, "name": " "}))
    assert "Give the group a name." in page
    assert count(SharingGroup) == 0


# ---- organisation ------------------------------------------------------------------------------------------------------


ORG = {"name": "Hangzhou Business School", "address": "1 West Lake Road", "phone": "0571-1234567",
       "fiscal_year_start": "4", "currency": "cny", "default_language": "en"}


def test_organisation_profile_is_for_admins_only(app, classroom):
    """Organisation profile is for admins only."""
    teacher = classroom.client_for(app, "teacher")
    assert teacher.get("/admin/organization").status_code == 403
    assert teacher.post("/admin/organization", data=ORG).status_code == 403
    db.session.expire_all()
    assert db.session.scalar(select(Organization)).name == "测试学校"
    admin = classroom.client_for(app, "admin")
    assert admin.get("/admin/organization").status_code == 200
    assert "Organisation profile saved." in flashed(admin, admin.post("/admin/organization", data=ORG))
    db.session.expire_all()
    org = db.session.scalar(select(Organization))
    assert (org.name, org.fiscal_year_start, org.currency, org.default_language) == (
        "Hangzhou Business School", 4, "CNY", "en")
    assert entries("organization.update")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"fiscal_year_start": "13"}, "fiscal_year_start", "between 1 and 12"),
        ({"fiscal_year_start": "0"}, "fiscal_year_start", "between 1 and 12"),
        ({"fiscal_year_start": "-3"}, "fiscal_year_start", "between 1 and 12"),
        ({"fiscal_year_start": "April"}, "fiscal_year_start", "Not a valid integer value."),
        ({"fiscal_year_start": ""}, "fiscal_year_start", "This field is required."),
        ({"currency": "YUAN"}, "currency", "exactly 3 characters"),
        ({"name": ""}, "name", "This field is required."),
        ({"default_language": "fr"}, "default_language", "Not a valid choice"),
    ],
)
def test_invalid_organisation_profile_is_refused(app, classroom, changes, field, message):
    """Invalid organisation profile is refused."""
    admin = classroom.client_for(app, "admin")
    response = admin.post("/admin/organization", data={**ORG, **changes})
    assert response.status_code == 400
    page = text(response)
    assert message in field_error(page, field)
    if field != "name":
        assert 'value="Hangzhou Business School"' in page
    db.session.expire_all()
    org = db.session.scalar(select(Organization))
    assert (org.name, org.fiscal_year_start, org.currency) == ("测试学校", 1, "CNY")
    assert entries("organization.update") == []
