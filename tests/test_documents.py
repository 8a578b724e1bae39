"""Documents (issue 11): class folders, versions as attachments, downloads through visibility, sharing modes."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.documents import services
from sandbox.documents.models import Document, Folder
from sandbox.extensions import db
from sandbox.org.services import set_sharing_mode
from sandbox.records.models import Attachment
from tests import helpers
from tests.conftest import act_as


def folder(classroom: Any, who: str, name: str = "Manuals", class_key: str | None = None) -> Folder:
    user = classroom.user(who)
    act_as(user)
    made = services.create_folder(classroom.classes[class_key].id if class_key else None, name)
    db.session.commit()
    act_as(None)
    return made


def document(classroom: Any, who: str, title: str = "Boiler manual", folder_id: int | None = None) -> Document:
    act_as(classroom.user(who))
    made = services.create_document(Document, {"title": title, "folder_id": folder_id, "description": "How to"})
    db.session.commit()
    act_as(None)
    return made


def upload(client: Any, doc: Document, name: str, data: bytes) -> Any:
    return client.post(f"/documents/{doc.id}/attachments", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def sharing(classroom: Any, mode: str) -> None:
    act_as(classroom.user("teacher"))
    set_sharing_mode(classroom.user("teacher"), classroom.classes["A"], "document", mode)
    db.session.commit()
    act_as(None)


def test_a_student_files_a_document_and_uploads_two_versions(app, classroom):
    manuals = folder(classroom, "studentA")
    student = classroom.client_for(app, "studentA")
    response = student.post("/documents/new", data={"title": "Boiler manual", "folder_id": str(manuals.id),
                                                    "description": "Model X"})
    assert response.status_code == 302, response.data[:600]
    doc = db.session.scalars(select(Document).execution_options(skip_visibility=True)).one()
    assert (doc.folder_id, doc.class_id) == (manuals.id, classroom.classes["A"].id)
    assert upload(student, doc, "manual-v1.pdf", b"first").status_code == 302
    assert upload(student, doc, "manual-v2.pdf", b"second edition").status_code == 302
    # Both versions are kept, numbered oldest = 1; the newest is current.
    act_as(classroom.user("studentA"))
    numbered = [(n, a.filename, a.size) for n, a in services.versions(doc)]
    act_as(None)
    assert numbered == [(2, "manual-v2.pdf", 14), (1, "manual-v1.pdf", 5)]
    page = helpers.text(student.get(f"/documents/{doc.id}?lang=en"))
    assert "manual-v1.pdf" in page and "manual-v2.pdf" in page and "Studenta" in page
    current = student.get(f"/documents/{doc.id}/download")
    assert current.status_code == 200 and current.data == b"second edition"
    first = db.session.scalars(select(Attachment).where(Attachment.filename == "manual-v1.pdf")).one()
    old = student.get(f"/documents/{doc.id}/attachments/{first.id}")
    assert old.status_code == 200 and old.data == b"first"
    assert len(helpers.entries("attachment.upload")) == 2 and len(helpers.entries("document.create")) == 1
    # The folder lists it with its count.
    listing = helpers.text(student.get(f"/documents/?folder={manuals.id}"))
    assert "Boiler manual" in listing



def test_upload_checks(app, classroom):
    app.config["ATTACHMENT_MAX_BYTES"] = 10
    doc = document(classroom, "studentA")
    student = classroom.client_for(app, "studentA")
    page = helpers.flashed(student, upload(student, doc, "big.pdf", b"x" * 11))
    assert "at most" in page or "最多" in page
    page = helpers.flashed(student, upload(student, doc, "tool.exe", b"MZ"))
    assert "exe" in page
    assert helpers.count(Attachment, skip_visibility=True) == 0


def test_downloads_follow_visibility(app, classroom):
    doc = document(classroom, "studentA")
    student = classroom.client_for(app, "studentA")
    upload(student, doc, "plan.txt", b"secret plan")
    att = db.session.scalars(select(Attachment)).one()
    for name in ("peerA", "studentB", "studentC", "teacher2"):
        client = classroom.client_for(app, name)
        assert client.get(f"/documents/{doc.id}").status_code == 404, name
        assert client.get(f"/documents/{doc.id}/download").status_code == 404, name
        assert client.get(f"/documents/{doc.id}/attachments/{att.id}").status_code == 404, name
    teacher = classroom.client_for(app, "teacher")
    assert teacher.get(f"/documents/{doc.id}/download").data == b"secret plan"
    # An attachment id of another document is not found under this one.
    other = document(classroom, "studentA", "Other")
    assert student.get(f"/documents/{other.id}/attachments/{att.id}").status_code == 404
    assert student.get(f"/documents/{other.id}/download").status_code == 404  # nothing uploaded yet
    assert student.get("/documents/999999/download").status_code == 404


@pytest.mark.parametrize("mode,reads,writes", [("private", False, False), ("read_only", True, False),
                                               ("read_write", True, True)])
def test_the_document_sharing_mode_governs_classmates(app, classroom, mode, reads, writes):
    sharing(classroom, mode)
    doc = document(classroom, "studentA", "Shared notes")
    peer = classroom.client_for(app, "studentA2")  # same class, another department: only the mode opens it
    assert peer.get(f"/documents/{doc.id}").status_code == (200 if reads else 404)
    assert ("Shared notes" in helpers.text(peer.get("/documents/"))) == reads
    response = upload(peer, doc, "peer.txt", b"peer")
    assert response.status_code == (302 if writes else 403 if reads else 404)
    assert helpers.count(Attachment, Attachment.filename == "peer.txt", skip_visibility=True) == (1 if writes else 0)
    edit = peer.post(f"/documents/{doc.id}/edit", data={"title": "Renamed", "folder_id": "0", "version": "1"})
    assert edit.status_code == (302 if writes else 403 if reads else 404)
    # Another class never sees it, whatever class A's mode.
    assert classroom.client_for(app, "studentB").get(f"/documents/{doc.id}").status_code == 404


def test_folders(app, classroom):
    student = classroom.client_for(app, "studentA")
    response = student.post("/documents/folders/new", data={"name": "Contracts"})
    assert response.status_code == 302
    contracts = db.session.scalars(select(Folder)).one()
    assert (contracts.class_id, contracts.created_by_id) == (classroom.classes["A"].id, classroom.user("studentA").id)
    assert len(helpers.entries("folder.create")) == 1
    # Same name twice in a class: refused with a message; empty name too.
    page = helpers.flashed(student, student.post("/documents/folders/new?lang=en", data={"name": "contracts"}))
    assert "exists already" in page
    page = helpers.flashed(student, student.post("/documents/folders/new?lang=en", data={"name": "  "}))
    assert "Name the folder" in page
    assert helpers.count(Folder) == 1
    # A forged class id of another class is refused.
    student.post("/documents/folders/new", data={"name": "Spy", "class_id": str(classroom.classes["C"].id)})
    assert helpers.count(Folder, Folder.name == "Spy") == 0
    # Rename: the creator yes, a classmate no (message), another class 404.
    assert student.post(f"/documents/folders/{contracts.id}/rename", data={"name": "Signed contracts"}).status_code == 302
    peer = classroom.client_for(app, "peerA")
    peer.post(f"/documents/folders/{contracts.id}/rename", data={"name": "Mine now"})
    assert helpers.fresh(contracts).name == "Signed contracts"
    assert classroom.client_for(app, "studentB").post(f"/documents/folders/{contracts.id}/rename",
                                                      data={"name": "X"}).status_code == 404
    assert classroom.client_for(app, "studentB").get(f"/documents/?folder={contracts.id}").status_code == 200
    # Delete: refused while a document is in it, even a classmate's private one the student cannot see.
    hidden = document(classroom, "peerA", "Peer contract", folder_id=contracts.id)
    page = helpers.flashed(student, student.post(f"/documents/folders/{contracts.id}/delete?lang=en"))
    assert "still holds documents" in page and helpers.count(Folder) == 1
    act_as(classroom.user("peerA"))
    from sandbox.records.services import delete_record
    delete_record(db.session.get(Document, hidden.id))
    db.session.commit()
    act_as(None)
    student.post(f"/documents/folders/{contracts.id}/delete")
    assert helpers.count(Folder) == 1  # the recycle bin still holds it
    # The instructor of the class manages any folder of it; the empty folder goes.
    empty = folder(classroom, "peerA", "Empty")
    teacher = classroom.client_for(app, "teacher")
    assert teacher.post(f"/documents/folders/{empty.id}/delete").status_code == 302
    assert helpers.count(Folder, Folder.id == empty.id) == 0
    assert len(helpers.entries("folder.delete")) == 1
    assert classroom.client_for(app, "readonlyA").post(f"/documents/folders/{contracts.id}/delete").status_code == 403
    assert student.post("/documents/folders/999999/delete").status_code == 404


def test_document_bad_input(app, classroom):
    student = classroom.client_for(app, "studentA")
    page = student.post("/documents/new?lang=en", data={"title": " ", "folder_id": "0"})
    assert page.status_code == 400 and helpers.field_error(helpers.text(page), "title")
    other = folder(classroom, "studentB", "B folder")
    page = student.post("/documents/new?lang=en", data={"title": "Sneaky", "folder_id": str(other.id)})
    assert page.status_code == 400
    assert helpers.count(Document, skip_visibility=True) == 0
    # An instructor files a document by its folder's class; without a folder there is no class to put it in.
    teacher = classroom.client_for(app, "teacher")
    page = teacher.post("/documents/new?lang=en", data={"title": "Nowhere", "folder_id": "0"})
    assert page.status_code == 400 and "Choose a folder" in helpers.text(page)
    a_folder = folder(classroom, "studentA", "A folder")
    assert teacher.post("/documents/new", data={"title": "Syllabus", "folder_id": str(a_folder.id)}).status_code == 302
    syllabus = db.session.scalars(select(Document).where(Document.title == "Syllabus")
                                  .execution_options(skip_visibility=True)).one()
    assert syllabus.class_id == classroom.classes["A"].id
