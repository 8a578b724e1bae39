"""THE visibility rule (SPEC §4): who reads and who writes a record, in every kind of query."""

from __future__ import annotations

from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from sandbox import access
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.org.models import Position, Role, User
from sandbox.records.services import delete_record
from tests.conftest import PASSWORD, act_as


def visible_ids(user: User | None, **options: Any) -> set[int]:
    """Ids of the leads `user` reads through the ORM (None: nobody signed in)."""
    viewer = access.viewer_for(user) if user is not None else None
    with access.viewing_as(viewer):
        return set(db.session.scalars(select(Lead.id).execution_options(**options)))


def viewer(classroom: Any, name: str) -> access.Viewer:
    """The visibility viewer of the classroom's user `name`."""
    return access.viewer_for(classroom.user(name))


def sees(classroom: Any, name: str, lead: Lead) -> bool:
    """Whether user `name` may read the lead."""
    return lead.id in visible_ids(classroom.user(name))


def writes(classroom: Any, name: str, lead: Lead) -> bool:
    """Whether user `name` may change the lead."""
    return access.can_write(lead, viewer(classroom, name))


def set_sharing(classroom: Any, klass: str, mode: str, record_type: str = "lead") -> None:
    """Set the sharing mode of a record type in a class."""
    from sandbox.org.services import set_sharing_mode

    act_as(None)
    set_sharing_mode(classroom.user("teacher") if klass != "C" else classroom.user("teacher2"),
                     classroom.classes[klass], record_type, mode)
    db.session.commit()


def make_group(classroom: Any, klass: str, *members: str) -> Any:
    """A sharing group of a class with the given members."""
    from sandbox.org.services import add_group_member, create_group

    act_as(None)
    teacher = classroom.user("teacher")
    group = create_group(teacher, classroom.classes[klass], f"Group of {'+'.join(members)}")
    for name in members:
        add_group_member(teacher, group, classroom.user(name))
    db.session.commit()
    return group


@pytest.fixture
def leads(classroom, make_lead) -> dict[str, Lead]:
    """One lead per user who may own records."""
    owners = ("studentA", "peerA", "managerA", "studentA2", "studentB", "studentC", "teacher", "admin")
    return {name: make_lead(classroom.user(name), name=f"Lead of {name}") for name in owners}


# ---- reading and writing ------------------------------------------------------------------------

def test_owner_reads_and_writes_own(classroom, leads):
    """An owner reads and changes their own lead."""
    assert sees(classroom, "studentA", leads["studentA"])
    assert writes(classroom, "studentA", leads["studentA"])
    assert visible_ids(classroom.user("studentA")) == {leads["studentA"].id}


def test_superior_sees_subordinates_but_not_the_reverse(classroom, leads):
    """A superior sees the leads of the positions below them, never the reverse."""
    manager = visible_ids(classroom.user("managerA"))
    assert manager == {leads["managerA"].id, leads["studentA"].id, leads["peerA"].id}
    assert writes(classroom, "managerA", leads["studentA"])
    # A department manager does not see the other department of the class.
    assert leads["studentA2"].id not in manager
    assert not sees(classroom, "studentA", leads["managerA"])
    assert not writes(classroom, "studentA", leads["managerA"])


def test_same_position_peers_do_not_see_each_other(classroom, leads):
    """Peers in the same position do not see each other's leads."""
    assert not sees(classroom, "peerA", leads["studentA"])
    assert not sees(classroom, "studentA", leads["peerA"])
    assert not writes(classroom, "peerA", leads["studentA"])


def test_sharing_group_grants_read_and_write(classroom, leads):
    """A sharing group lets its members read and change each other's leads."""
    assert not sees(classroom, "studentA", leads["studentA2"])
    make_group(classroom, "A", "studentA", "studentA2")
    assert sees(classroom, "studentA", leads["studentA2"])
    assert writes(classroom, "studentA", leads["studentA2"])
    assert sees(classroom, "studentA2", leads["studentA"])
    assert writes(classroom, "studentA2", leads["studentA"])
    # Only among members: peerA is still outside.
    assert not sees(classroom, "peerA", leads["studentA"])


def test_class_sharing_read_only_reads_without_writing(classroom, leads):
    """Class-wide read-only sharing lets classmates read but not change."""
    set_sharing(classroom, "A", "read_only")
    ids = visible_ids(classroom.user("peerA"))
    assert {leads["studentA"].id, leads["studentA2"].id, leads["managerA"].id} <= ids
    assert not writes(classroom, "peerA", leads["studentA"])
    assert writes(classroom, "peerA", leads["peerA"])
    assert leads["studentB"].id not in ids and leads["studentC"].id not in ids


def test_class_sharing_read_write(classroom, leads):
    """Class-wide read-write sharing lets classmates read and change."""
    set_sharing(classroom, "A", "read_write")
    assert sees(classroom, "peerA", leads["studentA2"])
    assert writes(classroom, "peerA", leads["studentA2"])
    assert writes(classroom, "studentA2", leads["managerA"])


def test_private_adds_nothing(classroom, leads):
    """Private sharing adds no readers."""
    set_sharing(classroom, "A", "read_write")
    set_sharing(classroom, "A", "private")
    assert not sees(classroom, "peerA", leads["studentA2"])


def test_other_class_never_whatever_the_sharing(classroom, leads):
    """Another class's leads stay hidden whatever the sharing mode."""
    set_sharing(classroom, "A", "read_write")
    set_sharing(classroom, "B", "read_write")
    make_group(classroom, "A", "studentA", "studentA2")
    assert not sees(classroom, "studentB", leads["studentA"])
    assert not writes(classroom, "studentB", leads["studentA"])
    assert not sees(classroom, "studentA", leads["studentB"])
    assert not writes(classroom, "studentA", leads["studentB"])
    assert visible_ids(classroom.user("studentB")) == {leads["studentB"].id}
    assert leads["studentC"].id not in visible_ids(classroom.user("studentA"))


def test_group_member_moved_to_another_class_keeps_nothing(classroom, leads):
    """A group is per class: a member moved to class B neither sees A's records nor shows B's."""
    from sandbox.org.services import update_user

    make_group(classroom, "A", "studentA", "studentA2")
    set_sharing(classroom, "B", "read_write")
    act_as(None)
    moved = classroom.user("studentA2")
    update_user(classroom.user("teacher"), moved, display_name=moved.display_name, email=moved.email,
                role=Role.STUDENT, position=classroom.positions["B2"], status="active")
    db.session.commit()
    moved_lead = db.session.scalars(
        select(Lead).where(Lead.id == leads["studentA2"].id).execution_options(skip_visibility=True)).one()
    assert moved_lead.class_id == classroom.classes["B"].id  # their records moved with them
    assert not sees(classroom, "studentA2", leads["studentA"])
    assert not writes(classroom, "studentA2", leads["studentA"])
    assert not sees(classroom, "studentA", moved_lead)
    assert not writes(classroom, "studentA", moved_lead)
    assert sees(classroom, "studentB", moved_lead)  # B shares read-write; they are now of class B


def test_admin_sees_and_writes_everything(classroom, leads):
    """An administrator reads and changes every lead."""
    assert visible_ids(classroom.user("admin")) == {lead.id for lead in leads.values()}
    assert all(writes(classroom, "admin", lead) for lead in leads.values())


def test_instructor_sees_whole_classes_below_only(classroom, leads):
    """An instructor sees the whole classes below them, and only those."""
    teacher = visible_ids(classroom.user("teacher"))
    class_a_and_b = {leads[n].id for n in ("studentA", "peerA", "managerA", "studentA2", "studentB", "teacher")}
    assert teacher == class_a_and_b
    assert writes(classroom, "teacher", leads["studentB"])
    assert visible_ids(classroom.user("teacher2")) == {leads["studentC"].id}
    assert not writes(classroom, "teacher2", leads["studentA"])
    assert not writes(classroom, "teacher", leads["studentC"])
    assert not writes(classroom, "teacher", leads["admin"])


def test_readonly_reads_within_visibility_and_never_writes(classroom, leads):
    """A read-only observer reads within the visibility rule and never writes."""
    ro = visible_ids(classroom.user("readonlyA"))
    assert {leads[n].id for n in ("studentA", "peerA", "managerA", "studentA2")} == ro
    assert not any(writes(classroom, "readonlyA", lead) for lead in leads.values())
    set_sharing(classroom, "A", "read_write")
    make_group(classroom, "A", "readonlyA", "studentA")
    assert not writes(classroom, "readonlyA", leads["studentA"])


def test_readonly_cannot_create_through_the_service(classroom):
    """A read-only observer cannot create a record through the service either."""
    from sandbox.records.services import NotAllowed, create_record

    act_as(classroom.user("readonlyA"))
    with pytest.raises(NotAllowed):
        create_record(Lead, {"name": "Nope", "status": "new"})
    db.session.rollback()
    act_as(None)
    assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_why_visible_names_each_reason(classroom, leads):
    """why_visible names each reason a user sees a record."""
    with force_locale("en"):
        _check_reasons(classroom, leads)


def _check_reasons(classroom: Any, leads: dict[str, Lead]) -> None:
    from sandbox.org.services import add_group_member, create_group

    lead = leads["studentA"]
    assert access.why_visible(lead, viewer(classroom, "studentA")) == ["You own this record."]
    assert access.why_visible(lead, viewer(classroom, "managerA")) == [
        "Its owner holds a position below yours (superiors see their subordinates)."]
    assert access.why_visible(lead, viewer(classroom, "teacher")) == [
        "Its class lies below your position in the position tree."]
    assert "You are an administrator." in access.why_visible(lead, viewer(classroom, "admin"))
    assert access.why_visible(lead, viewer(classroom, "peerA")) == []
    act_as(None)
    group = create_group(classroom.user("teacher"), classroom.classes["A"], "Tea team")
    add_group_member(classroom.user("teacher"), group, classroom.user("studentA"))
    add_group_member(classroom.user("teacher"), group, classroom.user("peerA"))
    db.session.commit()
    assert access.why_visible(lead, viewer(classroom, "peerA")) == [
        "You and its owner are in the sharing group “Tea team”."]
    set_sharing(classroom, "A", "read_only")
    assert "Your class shares this kind of record read-only." in access.why_visible(lead, viewer(classroom, "studentA2"))
    set_sharing(classroom, "A", "read_write")
    assert "Your class shares this kind of record read-write." in access.why_visible(lead, viewer(classroom, "studentA2"))
    assert access.why_visible(lead, viewer(classroom, "studentB")) == []
    assert access.why_visible(lead, access.SYSTEM) == []


def test_why_visible_is_shown_on_the_record_page(app, classroom, leads):
    """The record page shows why the viewer sees the record."""
    manager = classroom.client_for(app, "managerA")
    page = manager.get(f"/leads/{leads['studentA'].id}?lang=en").get_data(as_text=True)
    assert "superiors see their subordinates" in page


def test_disabled_subordinates_records_stay_with_their_superiors(app, classroom, leads):
    """A disabled subordinate's records stay visible to their superiors."""
    from sandbox.org.models import Status
    from sandbox.org.services import update_user

    student = classroom.user("studentA")
    act_as(classroom.user("teacher"))
    update_user(classroom.user("teacher"), student, display_name=student.display_name, email=student.email,
                role=student.role, position=student.position, status=Status.DISABLED)
    db.session.commit()
    lead = leads["studentA"]
    assert sees(classroom, "managerA", lead) and writes(classroom, "managerA", lead)
    assert not sees(classroom, "peerA", lead)
    with force_locale("en"):
        assert access.why_visible(lead, viewer(classroom, "managerA")) == [
            "Its owner holds a position below yours (superiors see their subordinates)."]
    manager = classroom.client_for(app, "managerA")
    assert "Lead of studentA" in manager.get("/leads/?lang=en").get_data(as_text=True)
    page = manager.get(f"/leads/{lead.id}?lang=en").get_data(as_text=True)
    assert "superiors see their subordinates" in page


# ---- every kind of query is filtered --------------------------------------------------------------

def test_counts_are_filtered(classroom, leads):
    """Counts are filtered by the visibility rule."""
    with access.viewing_as(viewer(classroom, "studentA")):
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 1
        assert db.session.scalar(select(func.count(Lead.id))) == 1
    with access.viewing_as(viewer(classroom, "managerA")):
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 3


def test_subqueries_joins_and_aggregates_are_filtered(classroom, leads):
    """Subqueries, joins and aggregates are filtered by the visibility rule."""
    with access.viewing_as(viewer(classroom, "studentA")):
        sub = select(Lead.id).subquery()
        assert db.session.scalar(select(func.count()).select_from(sub)) == 1
        owners = set(db.session.scalars(select(User.username).where(User.id.in_(select(Lead.owner_id)))))
        assert owners == {"studentA"}
        joined = set(db.session.scalars(select(User.username).join(Lead, Lead.owner_id == User.id)))
        assert joined == {"studentA"}
        by_status = db.session.execute(select(Lead.status, func.count()).group_by(Lead.status)).all()
        assert [tuple(r) for r in by_status] == [("new", 1)]
        cte = select(Lead.id, Lead.owner_id).cte("mine")
        assert db.session.scalar(select(func.count()).select_from(cte)) == 1


def test_get_and_get_visible_or_404(app, classroom, leads):
    """get() and get_visible_or_404 follow the visibility rule."""
    from werkzeug.exceptions import NotFound

    other, own = leads["studentB"].id, leads["studentA"].id
    student = viewer(classroom, "studentA")
    db.session.expunge_all()  # db.session.get must not answer from the identity map either
    with access.viewing_as(student):
        assert access.get_visible_or_404(Lead, own).id == own
        with pytest.raises(NotFound):
            access.get_visible_or_404(Lead, other)
        assert db.session.scalars(select(Lead).where(Lead.id == other)).first() is None
        assert db.session.get(Lead, other) is None


def test_soft_deleted_hidden_unless_include_deleted(classroom, leads):
    """Soft-deleted records are hidden unless include_deleted is asked for."""
    student = classroom.user("studentA")
    act_as(student)
    delete_record(leads["studentA"])
    db.session.commit()
    act_as(None)
    assert visible_ids(student) == set()
    assert visible_ids(student, include_deleted=True) == {leads["studentA"].id}
    # include_deleted lifts only the bin, never the rule.
    assert visible_ids(classroom.user("studentB"), include_deleted=True) == {leads["studentB"].id}
    with access.viewing_as(access.SYSTEM):
        assert leads["studentA"].id not in set(db.session.scalars(select(Lead.id)))


def test_no_viewer_sees_nothing(classroom, leads):
    """Without a viewer, queries see nothing (never fail open)."""
    assert visible_ids(None) == set()
    assert visible_ids(None, include_deleted=True) == set()
    with access.viewing_as(None):
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 0
    with access.viewing_as("not a viewer"):
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 0
    assert not access.can_write(leads["studentA"], None)
    assert access.log_criterion(None) is not None
    with access.viewing_as(None):
        assert db.session.scalar(
            select(func.count()).select_from(LogEntry).where(access.log_criterion(None))) == 0


def test_skip_visibility_bypasses(classroom, leads):
    """skip_visibility bypasses the rule, for system work only."""
    with access.viewing_as(None):
        everything = set(db.session.scalars(select(Lead.id).execution_options(skip_visibility=True)))
    assert everything == {lead.id for lead in leads.values()}


def test_a_user_without_position_sees_only_own_classless_records(classroom, leads):
    """A user off the tree (e.g. an instructor not yet placed) sees no class's records."""
    from sandbox.org.services import create_user

    act_as(None)
    loose = create_user(None, "loose", "Loose", PASSWORD, Role.INSTRUCTOR, None)
    db.session.commit()
    assert visible_ids(loose) == set()


# ---- transfer -----------------------------------------------------------------------------------

@pytest.fixture
def transfer_setup(app, classroom, make_lead):
    """A lead of studentA to transfer, a disabled classmate, and studentA's signed-in client."""
    from sandbox.org.services import create_user, update_user

    lead = make_lead(classroom.user("studentA"), name="To move")
    act_as(None)
    disabled = create_user(None, "goneA", "Gone A", PASSWORD, Role.STUDENT, classroom.positions["A2"])
    db.session.flush()
    update_user(classroom.user("teacher"), disabled, display_name="Gone A", email=None, role=Role.STUDENT,
                position=classroom.positions["A2"], status="disabled")
    db.session.commit()
    return lead, classroom.client_for(app, "studentA")


def _entries(verb: str) -> int:
    return db.session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.verb == verb))


def _owner(lead: Lead) -> int:
    return db.session.scalars(select(Lead.owner_id).where(Lead.id == lead.id)
                              .execution_options(skip_visibility=True)).one()


TAMPERED = ["studentB", "studentC", "pendingA", "goneA", "readonlyA", "studentA", "teacher", "admin",
            "999999", "abc", "", "1; DROP TABLE leads", "-1", "1e3", "0x10"]


def test_transfer_refuses_tampered_owner(classroom, transfer_setup):
    """Another class, pending, disabled, observer, self, staff, missing or non-numeric: a message, no change."""
    lead, client = transfer_setup
    wrong = []
    for target in TAMPERED:
        if target in classroom.users or target == "goneA":
            owner_id = str(db.session.scalar(select(User.id).where(User.username == target)))
        else:
            owner_id = target
        response = client.post(f"/leads/{lead.id}/transfer?lang=en", data={"owner_id": owner_id})
        page = response.get_data(as_text=True)
        if response.status_code not in (400, 422):
            wrong.append(f"{target!r}: status {response.status_code}")
        elif "invalid-feedback" not in page:
            wrong.append(f"{target!r}: no message next to the field")
        if _owner(lead) != classroom.user("studentA").id:
            wrong.append(f"{target!r}: the owner changed")
    assert not wrong, wrong
    assert _entries("lead.transfer") == 0


def test_transfer_message_names_the_rule(classroom, transfer_setup):
    """A refused transfer's message names the rule that refused it."""
    lead, client = transfer_setup
    page = client.post(f"/leads/{lead.id}/transfer?lang=en",
                       data={"owner_id": str(classroom.user("studentB").id)}).get_data(as_text=True)
    assert "Choose an active user of this record&#39;s class." in page or \
        "Choose an active user of this record's class." in page


def test_transfer_to_a_classmate_moves_the_record_and_access(classroom, transfer_setup):
    """A transfer to a classmate moves the record and who may read it."""
    lead, client = transfer_setup
    peer = classroom.user("peerA")
    assert client.post(f"/leads/{lead.id}/transfer", data={"owner_id": str(peer.id)}).status_code == 302
    assert _owner(lead) == peer.id
    assert _entries("lead.transfer") == 1
    # The old owner loses access (SPEC §4.6); the new one has it.
    assert client.get(f"/leads/{lead.id}").status_code == 404
    assert sees(classroom, "peerA", lead)


def test_transfer_picker_lists_only_classmates(classroom, transfer_setup):
    """The transfer form lists only the owner's classmates."""
    lead, client = transfer_setup
    page = client.get(f"/leads/{lead.id}/transfer").get_data(as_text=True)
    for name in ("peerA", "studentA2", "managerA"):
        assert f"({name})" in page
    for name in ("studentB", "studentC", "pendingA", "goneA", "readonlyA", "teacher", "admin"):
        assert f"({name})" not in page


def test_position_class_ids_are_consistent(classroom):
    """The class of every node is its nearest class ancestor (the isolation boundary)."""
    for name, position in classroom.positions.items():
        assert position.class_id == classroom.classes[name[0]].id
    assert classroom.teacher_node.class_id is None
    root = db.session.scalar(select(Position).where(Position.parent_id.is_(None)))
    assert root.class_id is None


# ---- other record types follow the same rule -------------------------------------------------------

def _make(owner: User, model: Any, **data: Any) -> Any:
    from sandbox.records.services import create_record

    act_as(owner)
    obj = create_record(model, data)
    db.session.commit()
    act_as(None)
    return obj


def _ids(user: User, model: Any) -> set[int]:
    with access.viewing_as(access.viewer_for(user)):
        return set(db.session.scalars(select(model.id)))


def test_class_readable_records_are_read_by_the_class_and_written_by_the_rule(classroom):
    """Competitors are readable by the whole class (SPEC §4.4), but only the rule's writers change them."""
    from sandbox.competitors.models import Competitor

    rival = _make(classroom.user("studentA"), Competitor, name="Green Leaf")
    for name in ("studentA", "peerA", "managerA", "studentA2", "readonlyA", "teacher", "admin"):
        assert rival.id in _ids(classroom.user(name), Competitor), name
    for name in ("studentB", "studentC", "teacher2"):
        assert rival.id not in _ids(classroom.user(name), Competitor), name
    assert writes(classroom, "managerA", rival)
    assert not writes(classroom, "peerA", rival)
    assert not writes(classroom, "readonlyA", rival)
    # Not even class sharing read-write opens a class-readable type for writing by others.
    set_sharing(classroom, "A", "read_write")
    assert not writes(classroom, "peerA", rival)
    with force_locale("en"):
        assert "This kind of record is readable by the whole class." in access.why_visible(rival, viewer(classroom, "peerA"))


def test_sharing_mode_applies_per_record_type(classroom):
    """Accounts and contacts share one mode ("account"); the lead mode opens neither."""
    from sandbox.accounts.models import Account
    from sandbox.contacts.models import Contact
    from sandbox.opportunities.models import Opportunity

    student = classroom.user("studentA")
    account = _make(student, Account, name="Tea Co.")
    contact = _make(student, Contact, name="Han Meimei")
    opportunity = _make(student, Opportunity, name="Tea deal", stage="prospecting")
    peer = classroom.user("peerA")
    set_sharing(classroom, "A", "read_write", "lead")
    assert account.id not in _ids(peer, Account) and contact.id not in _ids(peer, Contact)
    set_sharing(classroom, "A", "read_only", "account")
    assert account.id in _ids(peer, Account) and contact.id in _ids(peer, Contact)
    assert not writes(classroom, "peerA", account) and not writes(classroom, "peerA", contact)
    assert opportunity.id not in _ids(peer, Opportunity)
    set_sharing(classroom, "A", "read_write", "opportunity")
    assert opportunity.id in _ids(peer, Opportunity) and writes(classroom, "peerA", opportunity)
    # Class B's sharing is its own: nothing of class A shows there.
    set_sharing(classroom, "B", "read_write", "account")
    assert account.id not in _ids(classroom.user("studentB"), Account)

