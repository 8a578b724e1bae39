"""Email of notifications when SMTP is configured: after commit, in the recipient's language, failures harmless."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.extensions import db, mail
from sandbox.oplog import operation
from tests.helpers import act_as
from tests.test_notifications import visible


@pytest.fixture
def app_config() -> dict[str, Any]:
    """SMTP configured (Flask-Mail suppresses the real send under TESTING and records it)."""
    return {"MAIL_SERVER": "smtp.example.com", "MAIL_DEFAULT_SENDER": "crm@example.com"}


def test_email_is_sent_in_the_recipients_language_after_commit(app, classroom, create_lead):
    from sandbox.org.models import User

    room, mail_app = classroom, app
    a, peer = room.user("studentA"), room.user("peerA")

    @operation("test.locale")
    def chinese() -> None:
        db.session.get(User, peer.id).locale = "zh_Hans_CN"

    act_as(None)
    chinese()
    db.session.commit()
    lead = create_lead(a, name="Zhao Min")
    client = room.client_for(mail_app, "studentA")
    with mail.record_messages() as outbox:
        assert client.post(f"/leads/{lead.id}/transfer", data={"owner_id": str(peer.id)}).status_code == 302
        # A refused transfer (to the owner) sends nothing.
        client.post(f"/leads/{lead.id}/transfer", data={"owner_id": str(peer.id)})
    assert len(outbox) == 1
    message = outbox[0]
    assert message.recipients == ["peera@example.com"]
    assert "Zhao Min" in message.subject and "转" in message.subject  # peerA reads Chinese
    assert "http://localhost/notifications/" in message.body
    db.session.expire_all()
    note = visible(peer.id)[0]
    assert note.emailed_at is not None


def test_a_failed_send_never_breaks_the_operation(app, classroom, create_lead, monkeypatch):
    room, mail_app = classroom, app
    a, peer = room.user("studentA"), room.user("peerA")
    lead = create_lead(a, name="Zhao Min")

    def broken(message: Any) -> None:
        raise OSError("SMTP down")

    monkeypatch.setattr(mail, "send", broken)
    client = room.client_for(mail_app, "studentA")
    assert client.post(f"/leads/{lead.id}/transfer", data={"owner_id": str(peer.id)}).status_code == 302
    db.session.expire_all()
    note = visible(peer.id)[0]
    assert note.emailed_at is None and db.session.get(type(lead), lead.id).owner_id == peer.id
    # The cron scan tries again once SMTP is back.
    monkeypatch.undo()
    with mail.record_messages() as outbox:
        result = mail_app.test_cli_runner().invoke(args=["notifications", "scan"])
    assert result.exit_code == 0, result.output
    assert [m.recipients for m in outbox] == [["peera@example.com"]]
    db.session.expire_all()
    assert visible(peer.id)[0].emailed_at is not None
