"""Every administration action leaves its operation-log entry, written by the one who did it (issue 8, item 4)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.codes.models import CodeValue
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.org.models import Position, SharingGroup, SharingGroupMember, SharingMode, User
from sandbox.records.models import Note
from tests.conftest import act_as


@pytest.fixture(autouse=True)
def english(app):
    """Flashed messages are not asserted here, but keep the pages in one language."""
    app.config["BABEL_DEFAULT_LOCALE"] = "en"


def newest(verb: str) -> LogEntry:
    """The last entry of `verb` (fails when there is none)."""
    db.session.expire_all()
    entry = db.session.scalar(
        select(LogEntry).where(LogEntry.verb == verb).order_by(LogEntry.id.desc()).execution_options(
            skip_visibility=True))
    assert entry is not None, f"no {verb} entry"
    return entry


def entry_count(verb: str) -> int:
    """How many entries of `verb` the log holds."""
    db.session.expire_all()
    return len(db.session.scalars(select(LogEntry.id).where(LogEntry.verb == verb).execution_options(
        skip_visibility=True)).all())


def done(response: Any) -> None:
    """The action succeeded: a redirect, or a page that shows its result."""
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:400]


def user_form(user: User, **changes: Any) -> dict[str, Any]:
    """The user edit form as the browser sends it."""
    data = {"display_name": user.display_name, "student_number": user.student_number or "",
            "email": user.email or "", "role": user.role, "position_id": user.position_id or 0,
            "status": user.status}
    return {**data, **changes}


def by_name(model: Any, name: str) -> Any:
    """The row of `model` with this name."""
    db.session.expire_all()
    return db.session.scalar(select(model).where(model.name == name))


def test_each_admin_action_leaves_its_entry_by_its_actor(app, classroom):
    """Approve, reject, place, move, disable/enable, reset, add, delete, anonymise, sharing, groups, positions,
    code tables, roster and the organisation profile: one entry each, naming the acting teacher or admin."""
    teacher = classroom.client_for(app, "teacher")
    admin = classroom.client_for(app, "admin")
    actor_of = {"teacher": classroom.user("teacher").id, "admin": classroom.user("admin").id}
    klass = classroom.classes["A"]
    student = classroom.user("studentA")
    steps: list[tuple[str, str, Any]] = []

    def step(who: str, verb: str, action: Any) -> None:
        before = entry_count(verb)
        done(action())
        assert entry_count(verb) > before, verb
        entry = newest(verb)
        assert entry.actor_id == actor_of[who], (verb, entry.actor_id)
        steps.append((who, verb, entry.object_id))

    client = {"teacher": teacher, "admin": admin}
    pending = classroom.user("pendingA")
    step("teacher", "user.approve", lambda: client["teacher"].post("/admin/approvals", data={
        "user_ids": [pending.id], "decision": "approve", "position_id": classroom.positions["A2"].id,
        "role": "student", "reason": ""}))
    from sandbox.auth.services import register_user

    act_as(None)
    late = register_user("lateA", "Late A", "latea@example.com", "Aa1!aaaaaaaa", klass, None)
    db.session.commit()
    step("teacher", "user.reject", lambda: teacher.post("/admin/approvals", data={
        "user_ids": [late.id], "decision": "reject", "position_id": 0, "role": "student", "reason": "Wrong class"}))
    step("teacher", "user.update", lambda: teacher.post(
        f"/admin/users/{student.id}", data=user_form(student, position_id=classroom.positions["A2"].id)))
    step("teacher", "user.update", lambda: teacher.post(
        f"/admin/users/{student.id}", data=user_form(student, position_id=classroom.positions["B1"].id)))
    step("teacher", "user.update", lambda: teacher.post(
        f"/admin/users/{student.id}", data=user_form(student, position_id=classroom.positions["B1"].id,
                                                     status="disabled")))
    step("teacher", "user.update", lambda: teacher.post(
        f"/admin/users/{student.id}", data=user_form(student, position_id=classroom.positions["B1"].id,
                                                     status="active")))
    step("teacher", "user.password_reset", lambda: teacher.post(f"/admin/users/{student.id}/password-reset"))
    step("teacher", "user.create", lambda: teacher.post("/admin/users/new", data={
        "username": "newbie", "display_name": "Newbie", "role": "student",
        "position_id": classroom.positions["A1"].id, "email": "", "student_number": "", "password": ""}))
    newbie = db.session.scalar(select(User).where(User.username == "newbie"))
    step("teacher", "user.delete", lambda: teacher.post(f"/admin/users/{newbie.id}/delete"))
    classroom.client_for(app, "peerA")  # signed in once: the log names them, so they are anonymised, not removed
    step("teacher", "user.anonymise", lambda: teacher.post(f"/admin/users/{classroom.user('peerA').id}/delete"))
    step("teacher", "sharing.set", lambda: teacher.post("/admin/sharing", data={
        "class_id": klass.id, "mode_lead": "read_write"}))
    step("teacher", "sharing_group.create", lambda: teacher.post("/admin/sharing/groups", data={
        "class_id": klass.id, "name": "Team East"}))
    group = by_name(SharingGroup, "Team East")
    step("teacher", "sharing_group.add_member", lambda: teacher.post(
        f"/admin/sharing/groups/{group.id}/members", data={"user_id": classroom.user("studentA2").id}))
    member = db.session.scalar(select(SharingGroupMember).where(SharingGroupMember.group_id == group.id))
    step("teacher", "sharing_group.remove_member", lambda: teacher.post(f"/admin/sharing/members/{member.id}/remove"))
    step("teacher", "sharing_group.delete", lambda: teacher.post(f"/admin/sharing/groups/{group.id}/delete"))
    step("teacher", "position.create", lambda: teacher.post("/admin/positions/add", data={
        "parent_id": classroom.departments["A2"].id, "kind": "position", "name": "Intern"}))
    intern = by_name(Position, "Intern")
    step("teacher", "position.update", lambda: teacher.post(f"/admin/positions/{intern.id}", data={
        "name": "Trainee"}))
    step("teacher", "position.delete", lambda: teacher.post(f"/admin/positions/{intern.id}/delete"))
    step("teacher", "position.create", lambda: teacher.post("/admin/positions/wizard", data={
        "parent_id": classroom.teacher_node.id, "name": "Class D", "departments": "D1\nD2", "count": "",
        "join_code": "JOIND", "registration_open": "y"}))
    step("teacher", "code_value.create", lambda: teacher.post("/admin/code-tables/add", data={
        "table": "lead_source", "code": "wechat_ads", "label_zh": "微信广告", "label_en": "WeChat ads", "sort_order": "5",
        "class_id": str(klass.id)}))
    wechat = db.session.scalar(select(CodeValue).where(CodeValue.code == "wechat_ads", CodeValue.class_id == klass.id))
    step("teacher", "code_value.update", lambda: teacher.post(f"/admin/code-tables/{wechat.id}", data={
        "label_zh": "微信广告", "label_en": "WeChat adverts", "sort_order": "6", "active": "y", "class_id": str(klass.id)}))
    step("teacher", "code_value.delete", lambda: teacher.post(f"/admin/code-tables/{wechat.id}/delete", data={
        "class_id": str(klass.id)}))
    roster = b"username,name,student_number,email,department\nrosterA,Roster A,,,A1\n"
    step("teacher", "roster.import", lambda: teacher.post("/admin/roster", data={
        "class_id": klass.id, "file": (io.BytesIO(roster), "roster.csv")}, content_type="multipart/form-data"))
    step("admin", "organization.update", lambda: admin.post("/admin/organization", data={
        "name": "Sandbox School", "address": "", "phone": "", "fiscal_year_start": "1", "currency": "cny",
        "default_language": "en"}))
    assert {verb for _who, verb, _id in steps} == {
        "user.approve", "user.reject", "user.update", "user.password_reset", "user.create", "user.delete",
        "user.anonymise", "sharing.set", "sharing_group.create", "sharing_group.add_member",
        "sharing_group.remove_member", "sharing_group.delete", "position.create", "position.update",
        "position.delete", "code_value.create", "code_value.update", "code_value.delete", "roster.import",
        "organization.update"}


def test_moving_a_user_logs_every_moved_record_with_a_new_version(app, classroom, make_lead):
    """The records (and their notes) that follow a student into another class are changes of the `user.update`
    entry: listed in it, each with a new version and `updated_at`, none moved behind the log's back."""
    from sandbox.records.notes import add_note

    student = classroom.user("studentA")
    lead = make_lead(student, name="Kept")
    act_as(student)
    note = add_note(lead, "Call back on Monday")
    db.session.commit()
    act_as(None)
    version, updated = lead.version, lead.updated_at
    teacher = classroom.client_for(app, "teacher")
    done(teacher.post(f"/admin/users/{student.id}", data=user_form(student, position_id=classroom.positions["B1"].id)))
    db.session.expire_all()
    moved = db.session.scalar(select(Lead).where(Lead.id == lead.id).execution_options(skip_visibility=True))
    assert moved.class_id == classroom.classes["B"].id
    assert moved.version == version + 1
    assert moved.updated_at >= updated
    assert db.session.get(Note, note.id).class_id == classroom.classes["B"].id
    entry = newest("user.update")
    assert entry.object_id == student.id
    related = {(r["type"], r["id"]) for r in entry.changes["related"]}
    assert ("lead", lead.id) in related
    assert ("note", note.id) in related


def test_deleting_a_class_logs_its_sharing_modes_and_waiting_users(app, classroom):
    """Deleting an empty class also removes its sharing modes and frees users who named it: each is listed in the
    `position.delete` entry, not changed by a bare SQL statement."""
    admin = classroom.client_for(app, "admin")
    done(admin.post("/admin/positions/wizard", data={
        "parent_id": classroom.teacher_node.id, "name": "Class E", "departments": "E1", "count": "",
        "join_code": "JOINE", "registration_open": "y"}))
    klass = by_name(Position, "Class E")
    done(admin.post("/admin/sharing", data={"class_id": klass.id, "mode_lead": "read_only"}))
    mode_id = db.session.scalar(select(SharingMode.id).where(SharingMode.class_id == klass.id))
    from sandbox.auth.services import register_user
    from sandbox.org.services import reject_user

    act_as(None)
    asked = register_user("askedE", "Asked E", "askede@example.com", "Aa1!aaaaaaaa", klass, None)
    db.session.commit()
    act_as(classroom.user("admin"))
    reject_user(classroom.user("admin"), asked, "Full")
    db.session.commit()
    act_as(None)
    class_id, path = klass.id, klass.path
    below = db.session.scalars(select(Position.id).where(Position.path.startswith(path), Position.id != class_id)
                               .order_by(Position.path.desc())).all()
    for child_id in below:
        done(admin.post(f"/admin/positions/{child_id}/delete"))
    done(admin.post(f"/admin/positions/{class_id}/delete"))
    db.session.expire_all()
    assert db.session.scalar(select(Position.id).where(Position.id == class_id)) is None
    assert db.session.get(SharingMode, mode_id) is None
    assert db.session.get(User, asked.id).class_id is None
    entry = newest("position.delete")
    assert entry.object_id == class_id
    related = {(r["type"], r["id"], r["action"]) for r in entry.changes["related"]}
    assert ("sharing_mode", mode_id, "delete") in related
    assert ("user", asked.id, "update") in related
