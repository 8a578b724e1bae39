"""The list's owner picker offers exactly the owners of records the viewer reads, whatever the rule grants."""

from __future__ import annotations

from sandbox.extensions import db
from sandbox.org.models import SharingModeValue
from sandbox.org.services import set_sharing_mode
from tests.conftest import act_as


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
