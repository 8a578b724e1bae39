"""The list's owner picker offers the people whose records the viewer may read, whatever the rule grants:
the members of the classes it reads whole (a student with no record yet included; pending and rejected
accounts not), and otherwise only the owners it reads by ownership, the tree or a group. It is read from the
organisation alone, kept per worker while the organisation's version holds, and needs no query on records."""

from __future__ import annotations

import re

from sqlalchemy import update

from sandbox.extensions import db
from sandbox.org.models import SharingModeValue, Status, User
from sandbox.org.services import reject_user, set_sharing_mode
from tests.conftest import act_as
from tests.helpers import signed_in
from tests.test_kept_identity import statements_of


def _offers(app, classroom, viewer: str, owner: str) -> bool:
    page = classroom.client_for(app, viewer).get("/leads/").get_data(as_text=True)
    return f'<option value="{classroom.user(owner).id}"' in page


def test_owner_choices_follow_class_sharing_and_the_tree(app, classroom, make_lead):
    make_lead(classroom.user("peerA"))
    make_lead(classroom.user("studentB"))
    assert not _offers(app, classroom, "studentA", "peerA")  # private: a peer's leads are not visible
    assert _offers(app, classroom, "managerA", "peerA")  # the peer sits below the manager
    assert _offers(app, classroom, "teacher", "peerA") and _offers(app, classroom, "teacher", "studentB")
    assert not _offers(app, classroom, "teacher2", "peerA")
    act_as(classroom.user("admin"))
    set_sharing_mode(classroom.user("admin"), classroom.classes["A"], "lead", SharingModeValue.READ_ONLY)
    db.session.commit()
    act_as(None)
    assert _offers(app, classroom, "studentA", "peerA")  # class sharing opens the whole class
    assert not _offers(app, classroom, "studentA", "studentB")


def test_a_teacher_can_pick_a_student_who_owns_nothing_yet_and_never_a_pending_or_rejected_one(
        app, classroom, make_lead):
    """Filtering by a student with no lead is a question with an answer (an empty list), so the student is a
    choice; an account still waiting for approval, or turned away, owns nothing and is not."""
    assert _offers(app, classroom, "teacher", "studentA2")  # no lead of studentA2 exists
    assert _offers(app, classroom, "managerA", "studentA")
    assert not _offers(app, classroom, "teacher", "pendingA")
    assert classroom.user("pendingA").class_id == classroom.classes["A"].id  # asked to join class A
    act_as(classroom.user("teacher"))
    reject_user(classroom.user("teacher"), db.session.get(User, classroom.user("pendingA").id), "Wrong class")
    db.session.commit()
    act_as(None)
    assert db.session.get(User, classroom.user("pendingA").id).status == Status.REJECTED
    assert not _offers(app, classroom, "teacher", "pendingA")
    client = signed_in(app.test_client(), "teacher")
    empty = client.get(f"/leads/?owner={classroom.user('studentA2').id}&lang=en").get_data(as_text=True)
    assert '>0 records<' in empty and 'Nothing here yet.' in empty


def test_the_choices_are_kept_by_a_worker_and_a_change_by_another_worker_is_seen(app, app_factory, classroom,
                                                                                  make_lead):
    """The second list page reads no users for its picker; a student renamed through another worker (another
    app: other process memory) is offered under the new name on this worker's next page."""
    make_lead(classroom.user("studentA"))
    one, two = app, app_factory()
    client = signed_in(one.test_client(), "teacher")
    statements_of(one, client, "/leads/")
    again = statements_of(one, client, "/leads/")
    assert not [s for s in again if "FROM users" in s and "ORDER BY users.display_name" in s]
    assert not [s for s in again if "EXISTS" in s], "the picker probed the records"

    with two.app_context():
        db.session.execute(update(User).where(User.id == classroom.user("studentA2").id)
                           .values(display_name="Renamed Elsewhere"))
        db.session.commit()
    page = client.get("/leads/").get_data(as_text=True)
    assert re.search(rf'<option value="{classroom.user("studentA2").id}"[^>]*>Renamed Elsewhere \(studentA2\)', page)
