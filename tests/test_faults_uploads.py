"""A full upload folder or a failed file write leaves no record pointing at a missing (or short) file.

Attachments, document versions and the files an import keeps between its steps are written whole under a
temporary name and renamed (`faults.write_atomically`); a failed write refuses the change with a message,
rolls its row back and leaves no file; a row that fails to commit takes its new file with it.
"""

from __future__ import annotations

import errno
import io
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from sqlalchemy import func, select

from sandbox import faults
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.records.models import Attachment
from tests import helpers
from tests.conftest import act_as

CSV = b"name,company,status\nZhao Min,Ningbo Porcelain,new\nQian Li,Suzhou Silk,new\n"


def files_under(folder: Path) -> list[str]:
    """The names of every file below the upload folder (temporary ones included)."""
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def count(model: Any) -> int:
    """Rows of a model, whoever may see them."""
    return db.session.scalar(select(func.count()).select_from(model).execution_options(skip_visibility=True))


def attach(client: Any, lead: Lead, data: bytes = b"contract text", name: str = "contract.txt") -> Any:
    """Upload a file to a lead's page."""
    return client.post(f"/leads/{lead.id}/attachments", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def disk_full(monkeypatch: pytest.MonkeyPatch, silently: bool = False) -> None:
    """Every file write stops half way: with ENOSPC, or (silently) as a short write that raises nothing."""
    def half(handle: BinaryIO, data: bytes) -> None:
        handle.write(data[: len(data) // 2])
        if not silently:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(faults, "_write_all", half)


@pytest.mark.parametrize("silently", [False, True], ids=["enospc", "short-write"])
def test_a_failed_attachment_write_leaves_no_row_and_no_file(app, classroom, create_lead, monkeypatch, silently):
    lead = create_lead(classroom.user("studentA"), name="Zhao Min")
    folder = Path(app.config["UPLOAD_FOLDER"])
    student = classroom.client_for(app, "studentA")
    entries = count(LogEntry)
    disk_full(monkeypatch, silently)
    page = helpers.flashed(student, attach(student, lead))
    assert "The file could not be stored; nothing was saved." in page
    assert count(Attachment) == 0 and count(LogEntry) == entries
    assert files_under(folder) == []  # neither the final file nor the temporary one
    # The disk has room again: the same upload works and its file is whole.
    monkeypatch.undo()
    assert attach(student, lead, b"contract text").status_code == 302
    att = db.session.scalars(select(Attachment).execution_options(skip_visibility=True)).one()
    assert files_under(folder) == [att.stored_name]
    assert (folder / "attachments" / att.stored_name).read_bytes() == b"contract text"


def test_an_upload_folder_that_cannot_be_written_refuses_the_upload(app, classroom, create_lead, tmp_path):
    """The upload folder's parent is a file (as root, chmod would not stop the write)."""
    lead = create_lead(classroom.user("studentA"), name="Zhao Min")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file")
    app.config["UPLOAD_FOLDER"] = str(blocker / "uploads")
    student = classroom.client_for(app, "studentA")
    page = helpers.flashed(student, attach(student, lead))
    assert "The file could not be stored; nothing was saved." in page
    assert count(Attachment) == 0
    assert blocker.read_text() == "a file"
    # The import's kept file meets the same folder: a message at the file field, nothing imported.
    response = student.post("/leads/import?lang=en", data={"file": (io.BytesIO(CSV), "leads.csv"), "mode": "all",
                                                           "review": "y"}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "could not be kept on the server" in helpers.field_error(helpers.text(response), "file")
    assert count(Lead) == 1


def test_a_new_file_goes_when_its_row_is_rolled_back(app, classroom, create_lead):
    """The file is written before the commit; a transaction that then fails takes the file with it."""
    from sandbox.records.notes import upload_attachment

    lead = create_lead(classroom.user("studentA"), name="Zhao Min")
    folder = Path(app.config["UPLOAD_FOLDER"])
    act_as(classroom.user("studentA"))
    att = upload_attachment(lead, "offer.txt", b"offer")
    assert files_under(folder) == [att.stored_name]
    db.session.rollback()
    assert files_under(folder) == [] and count(Attachment) == 0
    att = upload_attachment(lead, "offer.txt", b"offer")
    db.session.commit()
    db.session.rollback()  # a later rollback does not touch a committed upload's file
    assert files_under(folder) == [att.stored_name]
    act_as(None)


def test_a_failed_document_version_write_adds_no_version(app, classroom, monkeypatch):
    from sandbox.documents import services
    from sandbox.documents.models import Document

    act_as(classroom.user("studentA"))
    doc = services.create_document(Document, {"title": "Boiler manual", "folder_id": None, "description": ""})
    db.session.commit()
    act_as(None)
    student = classroom.client_for(app, "studentA")
    upload = student.post(f"/documents/{doc.id}/attachments", data={"file": (io.BytesIO(b"first"), "v1.pdf")},
                          content_type="multipart/form-data")
    assert upload.status_code == 302 and count(Attachment) == 1
    disk_full(monkeypatch)
    upload = student.post(f"/documents/{doc.id}/attachments", data={"file": (io.BytesIO(b"second"), "v2.pdf")},
                          content_type="multipart/form-data")
    assert "The file could not be stored; nothing was saved." in helpers.flashed(student, upload)
    assert count(Attachment) == 1
    only = db.session.scalars(select(Attachment).execution_options(skip_visibility=True)).one()
    assert files_under(Path(app.config["UPLOAD_FOLDER"])) == [only.stored_name]
    # The current version is still the first, and it downloads whole.
    assert student.get(f"/documents/{doc.id}/download").get_data() == b"first"


def test_an_import_whose_kept_file_cannot_be_written_imports_nothing(app, classroom, monkeypatch):
    student = classroom.client_for(app, "studentA")
    disk_full(monkeypatch)
    response = student.post("/leads/import?lang=en", data={"file": (io.BytesIO(CSV), "leads.csv"), "mode": "all",
                                                           "review": "y"}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "could not be kept on the server" in helpers.field_error(helpers.text(response), "file")
    assert count(Lead) == 0
    assert files_under(Path(app.config["UPLOAD_FOLDER"])) == []
    # Room again: the review step keeps the file whole, and a token never names a short file.
    monkeypatch.undo()
    response = student.post("/leads/import?lang=en", data={"file": (io.BytesIO(CSV), "leads.csv"), "mode": "all",
                                                           "review": "y"}, content_type="multipart/form-data")
    assert response.status_code == 200
    kept = [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file() and p.suffix != ".json"]
    assert len(kept) == 1 and kept[0].read_bytes() == CSV
