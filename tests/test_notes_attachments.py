"""Notes and attachments: visible exactly when the parent record is, checked uploads, logged on the parent."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sandbox.extensions import db
from sandbox.oplog import LogEntry
from sandbox.records.models import Attachment, Note
from tests.helpers import count


def _upload(client, lead_id: int, name: str = "offer.pdf", data: bytes = b"%PDF-1.4 test") -> object:
    return client.post(f"/leads/{lead_id}/attachments?lang=en",
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_note_added_shown_and_logged_on_the_parent(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"))
    owner = classroom.client_for(app, "studentA")
    response = owner.post(f"/leads/{lead.id}/notes", data={"body": "Called, wants a quote\nby Friday"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#notes")
    page = owner.get(f"/leads/{lead.id}?lang=en").get_data(as_text=True)
    assert "Called, wants a quote" in page and 'data-testid="note-form"' in page
    entry = db.session.scalars(select(LogEntry).where(LogEntry.verb == "note.create")).one()
    assert (entry.object_type, entry.object_id, entry.class_id) == ("lead", lead.id, lead.class_id)
    assert entry.changes["related"][0]["type"] == "note"
    # The manager above studentA reads the note; studentB (another class) cannot even find the record.
    assert "Called, wants a quote" in classroom.client_for(app, "managerA").get(f"/leads/{lead.id}").get_data(as_text=True)
    other = classroom.client_for(app, "studentB")
    note = db.session.scalars(select(Note)).one()
    assert other.post(f"/leads/{lead.id}/notes", data={"body": "forged"}).status_code == 404
    assert other.post(f"/leads/{lead.id}/notes/{note.id}/delete", data={}).status_code == 404
    assert count(Note) == 1
    assert owner.post(f"/leads/{lead.id}/notes", data={"body": "   "}).status_code == 302
    assert count(Note) == 1
    assert owner.post(f"/leads/{lead.id}/notes/{note.id}/delete", data={}).status_code == 302
    # Soft-deleted: off the record's page, kept (with who and when) as the instructor's evidence.
    db.session.expire_all()
    assert count(Note) == 1 and note.deleted_at is not None and note.deleted_by_id == classroom.user("studentA").id
    assert "Called, wants a quote\nby Friday" not in owner.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert owner.post(f"/leads/{lead.id}/notes/{note.id}/delete", data={}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(LogEntry).where(LogEntry.verb == "note.delete")) == 1


def test_child_of_another_record_is_not_found(app, classroom, make_lead):
    mine = make_lead(classroom.user("studentA"))
    other = make_lead(classroom.user("studentA"), name="Other")
    owner = classroom.client_for(app, "studentA")
    owner.post(f"/leads/{mine.id}/notes", data={"body": "on mine"})
    _upload(owner, mine.id)
    note, att = db.session.scalars(select(Note)).one(), db.session.scalars(select(Attachment)).one()
    assert owner.post(f"/leads/{other.id}/notes/{note.id}/delete", data={}).status_code == 404
    assert owner.get(f"/leads/{other.id}/attachments/{att.id}").status_code == 404
    assert owner.post(f"/accounts/{mine.id}/attachments/{att.id}/delete", data={}).status_code == 404
    assert count(Note) == 1 and count(Attachment) == 1


def test_attachment_upload_download_delete(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"))
    owner = classroom.client_for(app, "studentA")
    assert _upload(owner, lead.id, "报价单 v2.pdf", b"%PDF-1.4 quote").status_code == 302
    att = db.session.scalars(select(Attachment)).one()
    stored = Path(app.config["UPLOAD_FOLDER"]) / "attachments" / att.stored_name
    assert stored.read_bytes() == b"%PDF-1.4 quote"
    assert att.filename == "报价单 v2.pdf" and att.stored_name not in att.filename and len(att.stored_name) == 32
    entry = db.session.scalars(select(LogEntry).where(LogEntry.verb == "attachment.upload")).one()
    assert (entry.object_id, entry.class_id, entry.params["filename"]) == (lead.id, lead.class_id, "报价单 v2.pdf")

    for reader in ("studentA", "managerA", "readonlyA", "teacher"):
        response = classroom.client_for(app, reader).get(f"/leads/{lead.id}/attachments/{att.id}")
        assert response.status_code == 200, reader
        assert response.data == b"%PDF-1.4 quote"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    stranger = classroom.client_for(app, "studentB")
    assert stranger.get(f"/leads/{lead.id}/attachments/{att.id}").status_code == 404
    assert stranger.post(f"/leads/{lead.id}/attachments/{att.id}/delete", data={}).status_code == 404
    assert _upload(stranger, lead.id).status_code == 404
    assert count(Attachment) == 1

    assert owner.post(f"/leads/{lead.id}/attachments/{att.id}/delete", data={}).status_code == 302
    # Soft-deleted: the student no longer finds it; the instructor still downloads it as evidence.
    db.session.expire_all()
    assert count(Attachment) == 1 and att.deleted_at is not None and stored.exists()
    assert owner.get(f"/leads/{lead.id}/attachments/{att.id}").status_code == 404
    assert classroom.client_for(app, "teacher").get(f"/leads/{lead.id}/attachments/{att.id}").data == b"%PDF-1.4 quote"


@pytest.mark.parametrize("name", ["run.exe", "page.html", "noextension", "script.svg"])
def test_forbidden_extensions_are_refused(app, classroom, make_lead, name):
    lead = make_lead(classroom.user("studentA"))
    owner = classroom.client_for(app, "studentA")
    response = _upload(owner, lead.id, name)
    assert response.status_code == 302
    page = owner.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "are not accepted. Allowed: pdf" in page
    assert count(Attachment) == 0
    assert not any(p.is_file() for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*"))


def test_too_large_and_empty_files_are_refused(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"))
    owner = classroom.client_for(app, "studentA")
    app.config["ATTACHMENT_MAX_BYTES"] = 1000
    response = _upload(owner, lead.id, "big.pdf", b"x" * 1001)
    page = owner.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "at most 1000 B is accepted" in page
    _upload(owner, lead.id, "empty.txt", b"")
    assert count(Attachment) == 0
    assert _upload(owner, lead.id, "ok.txt", b"x" * 1000).status_code == 302
    assert count(Attachment) == 1
    # Beyond the request limit the friendly 413 page answers.
    app.config["MAX_CONTENT_LENGTH"] = 5000
    huge = _upload(owner, lead.id, "huge.pdf", b"x" * 6000)
    assert huge.status_code == 413 and ("File too large" in huge.get_data(as_text=True)
                                        or "文件过大" in huge.get_data(as_text=True))


def test_readonly_sees_but_gets_no_forms_and_403(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"))
    owner = classroom.client_for(app, "studentA")
    owner.post(f"/leads/{lead.id}/notes", data={"body": "visible to the observer"})
    _upload(owner, lead.id)
    note, att = db.session.scalars(select(Note)).one(), db.session.scalars(select(Attachment)).one()
    observer = classroom.client_for(app, "readonlyA")
    page = observer.get(f"/leads/{lead.id}").get_data(as_text=True)
    assert "visible to the observer" in page and "offer.pdf" in page
    assert 'data-testid="note-form"' not in page and 'data-testid="attachment-form"' not in page
    assert f"/attachments/{att.id}/delete" not in page
    assert observer.post(f"/leads/{lead.id}/notes", data={"body": "forged"}).status_code == 403
    assert observer.post(f"/leads/{lead.id}/notes/{note.id}/delete", data={}).status_code == 403
    assert _upload(observer, lead.id).status_code == 403
    assert observer.post(f"/leads/{lead.id}/attachments/{att.id}/delete", data={}).status_code == 403
    assert count(Note) == 1 and count(Attachment) == 1
    # A classmate who cannot see the record (private sharing) cannot find it at all.
    peer = classroom.client_for(app, "peerA")
    assert peer.post(f"/leads/{lead.id}/notes", data={"body": "x"}).status_code == 404


def test_every_record_type_has_the_cards(app, classroom):
    from sandbox.accounts.models import Account
    from sandbox.records.services import create_record
    from tests.conftest import act_as

    act_as(classroom.user("studentA"))
    account = create_record(Account, {"name": "Cards Co."})
    db.session.commit()
    act_as(None)
    owner = classroom.client_for(app, "studentA")
    assert owner.post(f"/accounts/{account.id}/notes", data={"body": "account note"}).status_code == 302
    page = owner.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert 'data-testid="notes"' in page and 'data-testid="attachments"' in page and "account note" in page
    note = db.session.scalars(select(Note)).one()
    assert (note.record_type, note.record_id) == ("account", account.id)
