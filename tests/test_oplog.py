"""THE operation log (SPEC §8.1): one entry per change, in the change's transaction, never edited."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from sandbox import access
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import AppendOnly, LogEntry, UnloggedChange, operation
from sandbox.org.models import Position, SharingMode, Status, User
from sandbox.records import services as records
from tests import helpers
from tests.conftest import PASSWORD, act_as


def all_entries() -> list[LogEntry]:
    """Every log entry, oldest first."""
    return list(db.session.scalars(select(LogEntry).order_by(LogEntry.id)))


def count(verb: str | None = None) -> int:
    """The number of log entries (of one verb)."""
    return helpers.count(LogEntry, *([LogEntry.verb == verb] if verb is not None else []))


def new_entries(before: int) -> list[LogEntry]:
    """Entries appended after the first `before` ones."""
    return list(db.session.scalars(select(LogEntry).order_by(LogEntry.id).offset(before)))


def reload_lead(lead_id: int) -> Lead:
    """The lead as the database holds it now."""
    return db.session.scalars(
        select(Lead).where(Lead.id == lead_id)
        .execution_options(skip_visibility=True, include_deleted=True, populate_existing=True)
    ).one()


# ---- record changes -------------------------------------------------------------------------------

def test_each_lead_change_writes_exactly_one_entry(app, classroom):
    """Each lead change writes exactly one entry."""
    student = classroom.user("studentA")
    peer = classroom.user("peerA")
    act_as(student)

    before = count()
    lead = records.create_record(Lead, {"name": "Li Lei", "company": "Tea Co.", "status": "new"})
    [entry] = new_entries(before)
    assert (entry.verb, entry.object_type, entry.object_id) == ("lead.create", "lead", lead.id)
    assert entry.actor_id == student.id and entry.actor_role == "student"
    assert entry.class_id == classroom.classes["A"].id
    assert entry.object_label == "Li Lei · Tea Co."
    assert entry.changes["action"] == "create"
    assert entry.changes["fields"]["name"] == [None, "Li Lei"]
    assert entry.changes["fields"]["owner_id"] == [None, student.id]
    db.session.commit()

    before = count()
    records.update_record(lead, {"name": "Han Meimei", "status": "contacted", "company": "Tea Co."})
    [entry] = new_entries(before)
    assert entry.verb == "lead.update"
    # Field-level before/after, only what changed (not the version counter or the timestamp).
    assert entry.changes == {"action": "update",
                             "fields": {"name": ["Li Lei", "Han Meimei"], "status": ["new", "contacted"]}}
    db.session.commit()

    before = count()
    records.transfer_record(lead, peer.id)
    [entry] = new_entries(before)
    assert entry.verb == "lead.transfer"
    assert entry.changes["fields"]["owner_id"] == [student.id, peer.id]
    assert entry.params == {"old_owner": student.display_name, "new_owner": peer.display_name}
    db.session.commit()

    act_as(classroom.user("teacher"))
    lead = reload_lead(lead.id)
    before = count()
    records.delete_record(lead)
    [entry] = new_entries(before)
    assert entry.verb == "lead.delete" and entry.actor_id == classroom.user("teacher").id
    assert entry.as_teacher is True
    deleted_at = entry.changes["fields"]["deleted_at"]
    assert deleted_at[0] is None and deleted_at[1]
    db.session.commit()

    before = count()
    records.restore_record(reload_lead(lead.id))
    [entry] = new_entries(before)
    assert entry.verb == "lead.restore"
    assert entry.changes["fields"]["deleted_at"] == [deleted_at[1], None]
    db.session.commit()


def test_a_change_and_its_entry_share_one_transaction(app, classroom, make_lead):
    """Rolled back together: no change without its entry, no entry without its change."""
    lead = make_lead(classroom.user("studentA"))
    act_as(classroom.user("studentA"))
    before = count()
    records.update_record(lead, {"name": "Changed"})
    assert count() == before + 1  # flushed together, not yet committed
    db.session.rollback()
    assert count() == before
    assert reload_lead(lead.id).name == "Li Lei"


def test_an_edit_through_the_page_writes_one_entry(app, classroom, make_lead):
    """An edit through the page writes one entry."""
    lead = make_lead(classroom.user("studentA"))
    client = classroom.client_for(app, "managerA")
    before = count()
    response = client.post(f"/leads/{lead.id}/edit", data={"name": "Edited", "status": "qualified",
                                                            "company": "Hangzhou Tea Co.", "version": "1"})
    assert response.status_code == 302
    [entry] = new_entries(before)
    assert entry.verb == "lead.update" and entry.actor_id == classroom.user("managerA").id
    assert entry.changes["fields"] == {"name": ["Li Lei", "Edited"], "status": ["new", "qualified"]}
    assert entry.ip == "127.0.0.1" and entry.request_id
    # Saving the form unchanged changes nothing and so logs nothing that claims a change.
    before = count()
    client.post(f"/leads/{lead.id}/edit", data={"name": "Edited", "status": "qualified",
                                                "company": "Hangzhou Tea Co.", "version": "2"})
    assert all(not (e.changes or {}).get("fields") for e in new_entries(before))


def test_refused_changes_write_no_entry(app, classroom, make_lead):
    """Refused changes write no entry."""
    lead = make_lead(classroom.user("studentA"))
    before = count()
    peer = classroom.client_for(app, "peerA")
    assert peer.post(f"/leads/{lead.id}/delete").status_code == 404
    observer = classroom.client_for(app, "readonlyA")
    assert observer.post(f"/leads/{lead.id}/delete").status_code == 403
    owner = classroom.client_for(app, "studentA")
    # An invalid form comes back with its messages (200 or 400: either way nothing is saved).
    assert owner.post(f"/leads/{lead.id}/edit", data={"name": "", "status": "new", "version": "1"}).status_code in (200, 400)
    assert owner.post(f"/leads/{lead.id}/edit", data={"name": "X", "status": "new", "version": "99"}).status_code == 409
    assert [e.verb for e in new_entries(before) if not e.verb.startswith("auth.")] == []
    assert reload_lead(lead.id).version == 1


# ---- the guards -----------------------------------------------------------------------------------

def test_audited_change_outside_an_operation_raises(app, classroom, make_lead):
    """Audited change outside an operation raises."""
    lead = make_lead(classroom.user("studentA"))
    act_as(classroom.user("studentA"))
    lead.name = "Sneaky"
    with pytest.raises(UnloggedChange):
        db.session.flush()
    db.session.rollback()

    db.session.add(Lead(name="Sneaky", owner_id=classroom.user("studentA").id, class_id=lead.class_id))
    with pytest.raises(UnloggedChange):
        db.session.flush()
    db.session.rollback()

    db.session.delete(reload_lead(lead.id))
    with pytest.raises(UnloggedChange):
        db.session.commit()
    db.session.rollback()

    user = db.session.get(User, classroom.user("studentB").id)
    user.display_name = "Renamed quietly"
    with pytest.raises(UnloggedChange):
        db.session.commit()
    db.session.rollback()
    assert reload_lead(lead.id).name == "Li Lei"
    assert db.session.get(User, classroom.user("studentB").id).display_name == "Studentb"


def test_log_entries_cannot_be_edited_or_deleted_through_the_orm(app, classroom):
    """Log entries cannot be edited or deleted through the orm."""
    entry = db.session.scalars(select(LogEntry).order_by(LogEntry.id)).first()
    entry.verb = "something.else"
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()

    entry = db.session.scalars(select(LogEntry).order_by(LogEntry.id)).first()
    db.session.delete(entry)
    with pytest.raises(AppendOnly):
        db.session.flush()
    db.session.rollback()

    # Not even inside an operation.
    @operation("lead.update")
    def tamper() -> None:
        db.session.scalars(select(LogEntry)).first().object_label = "rewritten"

    with pytest.raises(AppendOnly):
        tamper()
    db.session.rollback()
    assert "rewritten" not in {e.object_label for e in all_entries()}


@pytest.mark.parametrize("statement", [
    "UPDATE log_entries SET verb = 'x'",
    "UPDATE log_entries SET object_label = 'rewritten' WHERE id = (SELECT min(id) FROM log_entries)",
    "DELETE FROM log_entries",
    "DELETE FROM log_entries WHERE id = (SELECT max(id) FROM log_entries)",
])
def test_database_refuses_raw_updates_and_deletes(app, classroom, statement):
    """The triggers make the log append-only even for SQL that bypasses the ORM (both backends)."""
    rows = count()
    assert rows > 0  # a row trigger only fires on rows
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()
    assert count() == rows
    assert "x" not in {e.verb for e in all_entries()}


def test_raw_inserts_are_still_allowed(app):
    """Append-only, not read-only: the triggers do not stop the log from growing."""
    before = count()
    db.session.execute(text("INSERT INTO log_entries (at, verb, as_teacher) VALUES (CURRENT_TIMESTAMP, 'test.raw', :f)"),
                       {"f": False})
    db.session.commit()
    assert count() == before + 1


def test_a_failing_service_leaves_neither_change_nor_entry(app, classroom, make_lead):
    """A failing service leaves neither change nor entry."""
    lead = make_lead(classroom.user("studentA"))

    @operation("lead.update")
    def half_done(obj: Lead) -> None:
        obj.name = "Half done"
        db.session.flush()
        raise RuntimeError("boom after the change")

    act_as(classroom.user("studentA"))
    before = count()
    with pytest.raises(RuntimeError):
        half_done(lead)
    db.session.rollback()
    assert count() == before
    assert reload_lead(lead.id).name == "Li Lei"


def test_a_failing_request_leaves_neither_change_nor_entry(app, classroom, make_lead, monkeypatch):
    """A service that fails after changing data inside a request: the request's transaction is dropped."""
    from sandbox.leads.routes import views

    lead = make_lead(classroom.user("studentA"))
    original = views.update_service

    def failing(obj: Any, data: dict[str, Any], expected_version: int | None = None) -> Any:
        original(obj, data, expected_version=expected_version)
        raise RuntimeError("boom after the entry")

    monkeypatch.setattr(views, "update_service", failing)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = classroom.client_for(app, "studentA")
    before = count()
    response = client.post(f"/leads/{lead.id}/edit", data={"name": "Lost", "status": "new", "version": "1"})
    assert response.status_code == 500
    assert count() == before
    assert reload_lead(lead.id).name == "Li Lei"


# ---- accounts and administration through the real pages ----------------------------------------

def verbs_after(before: int) -> list[str]:
    """The verbs of the entries written after entry id `before`."""
    return [e.verb for e in new_entries(before)]


def test_sign_in_failed_sign_in_and_sign_out_are_logged(app, classroom):
    """Sign in failed sign in and sign out are logged."""
    student = classroom.user("studentA")
    client = app.test_client()
    before = count()
    assert client.post("/auth/login", data={"username": "studentA", "password": "wrong-1"}).status_code == 401
    [failed] = new_entries(before)
    assert failed.verb == "auth.login_failed" and failed.actor_id is None
    assert failed.params == {"username": "studentA", "reason": "credentials"}

    before = count()
    assert client.post("/auth/login", data={"username": "pendingA", "password": PASSWORD}).status_code == 401
    assert [(e.verb, e.params["reason"]) for e in new_entries(before)] == [("auth.login_failed", "pending")]

    before = count()
    assert client.post("/auth/login", data={"username": "studentA", "password": PASSWORD}).status_code == 302
    [signed_in] = new_entries(before)
    assert (signed_in.verb, signed_in.actor_id, signed_in.object_id) == ("auth.login", student.id, student.id)

    before = count()
    assert client.post("/auth/logout").status_code == 302
    [signed_out] = new_entries(before)
    assert (signed_out.verb, signed_out.actor_id) == ("auth.logout", student.id)


def test_registration_approval_and_rejection_are_logged(app, classroom):
    """Registration approval and rejection are logged."""
    anonymous = app.test_client()
    before = count()
    form = {"username": "newbie", "display_name": "New Bie", "email": "newbie@example.com",
            "password": "tea4ever2026", "confirm": "tea4ever2026", "join_code": "JOINA"}
    assert anonymous.post("/auth/register", data=form).status_code == 200
    [registered] = new_entries(before)
    newbie = db.session.scalar(select(User).where(User.username == "newbie"))
    assert (registered.verb, registered.actor_id, registered.object_id) == ("auth.register", newbie.id, newbie.id)
    assert registered.class_id == classroom.classes["A"].id

    teacher = classroom.client_for(app, "teacher")
    before = count()
    response = teacher.post("/admin/approvals", data={
        "user_ids": [str(newbie.id)], "decision": "approve", "position_id": str(classroom.positions["A2"].id),
        "role": "student"})
    assert response.status_code == 302
    [approved] = [e for e in new_entries(before) if e.verb != "auth.login"]
    assert (approved.verb, approved.object_id, approved.actor_id) == (
        "user.approve", newbie.id, classroom.user("teacher").id)
    assert approved.changes["fields"]["status"] == ["pending", "active"]

    pending = classroom.user("pendingA")
    before = count()
    response = teacher.post("/admin/approvals", data={
        "user_ids": [str(pending.id)], "decision": "reject", "reason": "Not in this course", "role": "student"})
    assert response.status_code == 302
    [rejected] = new_entries(before)
    assert (rejected.verb, rejected.object_id) == ("user.reject", pending.id)
    assert rejected.params == {"reason": "Not in this course"}


def test_roster_import_is_logged_once_with_its_accounts(app, classroom):
    """Roster import is logged once with its accounts."""
    teacher = classroom.client_for(app, "teacher")
    csv = "username,name,student_number,email,department\nrosa,Rosa Li,2024001,rosa@example.com,A1\n" \
          "rosb,Rosb Wang,2024002,,A2\n"
    before = count()
    response = teacher.post("/admin/roster", data={
        "class_id": str(classroom.classes["A"].id), "file": (io.BytesIO(csv.encode()), "roster.csv")})
    assert response.status_code == 200
    verbs = verbs_after(before)
    assert verbs.count("roster.import") == 1
    assert verbs.count("user.create") == 2
    [entry] = [e for e in new_entries(before) if e.verb == "roster.import"]
    assert entry.params == {"count": 2} and entry.object_id == classroom.classes["A"].id
    assert "password" not in str(entry.changes) or "***" in str(entry.changes)


def test_position_create_and_delete_are_logged(app, classroom):
    """Position create and delete are logged."""
    teacher = classroom.client_for(app, "teacher")
    before = count()
    response = teacher.post("/admin/positions/add", data={
        "parent_id": str(classroom.departments["A2"].id), "kind": "position", "name": "Intern"})
    assert response.status_code == 302
    [created] = new_entries(before)
    position = db.session.scalar(select(Position).where(Position.name == "Intern"))
    assert (created.verb, created.object_id) == ("position.create", position.id)
    assert created.class_id == classroom.classes["A"].id

    before = count()
    assert teacher.post(f"/admin/positions/{position.id}/delete").status_code == 302
    assert verbs_after(before) == ["position.delete"]
    assert db.session.scalar(select(func.count()).select_from(Position).where(Position.id == position.id)) == 0


def test_sharing_mode_change_is_logged(app, classroom):
    """Sharing mode change is logged."""
    teacher = classroom.client_for(app, "teacher")
    klass = classroom.classes["A"]
    before = count()
    response = teacher.post(f"/admin/sharing?class_id={klass.id}",
                            data={"class_id": str(klass.id), "mode_lead": "read_only"})
    assert response.status_code == 302
    [entry] = new_entries(before)
    assert entry.verb == "sharing.set" and entry.params == {"klass": klass.name}
    assert entry.changes["fields"]["mode"] == [None, "read_only"]
    mode = db.session.scalar(select(SharingMode.mode).where(SharingMode.class_id == klass.id,
                                                            SharingMode.record_type == "lead"))
    assert mode == "read_only"
    # Saving the same modes again changes nothing and logs nothing.
    before = count()
    teacher.post(f"/admin/sharing?class_id={klass.id}", data={"class_id": str(klass.id), "mode_lead": "read_only"})
    assert verbs_after(before) == []


def test_user_edit_and_password_change_are_logged(app, classroom):
    """User edit and password change are logged."""
    teacher = classroom.client_for(app, "teacher")
    student = classroom.user("studentA2")
    before = count()
    response = teacher.post(f"/admin/users/{student.id}", data={
        "display_name": "Student A-Two", "email": "a2@example.com", "role": "student",
        "position_id": str(classroom.positions["A2"].id), "status": "active"})
    assert response.status_code == 302
    [edited] = new_entries(before)
    assert (edited.verb, edited.object_id) == ("user.update", student.id)
    assert edited.changes["fields"]["display_name"] == ["Studenta2", "Student A-Two"]
    assert edited.changes["fields"]["email"] == ["studenta2@example.com", "a2@example.com"]

    client = classroom.client_for(app, "studentA2")
    before = count()
    response = client.post("/auth/password", data={"old_password": PASSWORD, "password": "newpass9926",
                                                   "confirm": "newpass9926"})
    assert response.status_code == 302
    [changed] = new_entries(before)
    assert (changed.verb, changed.actor_id, changed.object_id) == ("auth.password_change", student.id, student.id)
    # The hash itself never reaches the log.
    assert changed.changes["fields"]["password_hash"] == ["***", "***"]
    before = count()
    wrong = client.post("/auth/password", data={"old_password": "nope", "password": "other-2026x", "confirm": "other-2026x"})
    assert wrong.status_code == 400
    assert verbs_after(before) == []


def test_disabling_a_user_is_logged_and_ends_nothing_else(app, classroom):
    """Disabling a user is logged and ends nothing else."""
    teacher = classroom.client_for(app, "teacher")
    student = classroom.user("studentB")
    before = count()
    assert teacher.post(f"/admin/users/{student.id}", data={
        "display_name": student.display_name, "email": student.email, "role": "student",
        "position_id": str(student.position_id), "status": "disabled"}).status_code == 302
    [entry] = new_entries(before)
    assert entry.verb == "user.update" and entry.changes["fields"]["status"] == ["active", "disabled"]
    assert db.session.scalar(select(User.status).where(User.id == student.id)) == Status.DISABLED


# ---- reading the log -------------------------------------------------------------------------------

def test_summaries_render_in_english_and_chinese(app, classroom, make_lead):
    """Summaries render in english and chinese."""
    lead = make_lead(classroom.user("studentA"))
    act_as(classroom.user("studentA"))
    records.update_record(lead, {"name": "Wang Fang"})
    db.session.commit()
    client = classroom.client_for(app, "studentA")
    english = client.get("/log/?lang=en")
    assert english.status_code == 200
    page = english.get_data(as_text=True)
    assert "created lead Li Lei · Hangzhou Tea Co." in page
    assert "edited lead Wang Fang · Hangzhou Tea Co." in page
    assert "signed in" in page
    chinese = client.get("/log/?lang=zh_Hans_CN")
    assert chinese.status_code == 200
    zh = chinese.get_data(as_text=True)
    assert "lead.create" in zh  # the verb is shown beside the summary in any language
    assert "创建了线索 Li Lei · Hangzhou Tea Co." in zh


def test_students_see_only_their_own_entries(app, classroom, make_lead):
    """Students see only their own entries."""
    make_lead(classroom.user("studentA"), name="Mine")
    make_lead(classroom.user("studentB"), name="Theirs")
    client = classroom.client_for(app, "studentA")
    page = client.get("/log/?lang=en").get_data(as_text=True)
    assert "created lead Mine" in page and "Theirs" not in page
    teacher2 = classroom.client_for(app, "teacher2").get("/log/?lang=en").get_data(as_text=True)
    assert "Mine" not in teacher2 and "Theirs" not in teacher2
    teacher = classroom.client_for(app, "teacher").get("/log/?lang=en").get_data(as_text=True)
    assert "created lead Mine" in teacher and "created lead Theirs" in teacher
    csv = client.get("/log/export.csv").get_data(as_text=True)
    assert "Mine" in csv and "Theirs" not in csv


def test_entries_read_under_visibility_keep_no_viewer_dependence(app, classroom, make_lead):
    """The log is not an Owned record: the visibility listener must not hide entries from the system."""
    make_lead(classroom.user("studentA"))
    with access.viewing_as(None):
        assert db.session.scalar(select(func.count()).select_from(LogEntry)) == count()
