"""Notes and attachments of any record: the services (each an @operation logged on the parent record).

Every function takes the parent record, already loaded through the visibility rule by the caller;
writing needs the same right as editing the parent.
"""

from __future__ import annotations

import mimetypes
import re
import secrets
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .. import faults
from ..access import about_record
from ..extensions import db
from ..i18n import N_
from ..numbers import DB_INT_MAX
from ..oplog import current_op, operation, register_verbs
from ..org.models import utcnow
from ..owned import Owned
from .about import about, about_params
from .models import Attachment, Note
from .services import NotAllowed, RecordError, _check_write, acting_user

DEFAULT_EXTENSIONS = ("pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "csv", "png", "jpg", "jpeg", "gif",
                      "zip")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
NOTE_MAX = 4000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PENDING = "attachment_files_to_remove"


def _writable_parent(parent: Owned) -> Any:
    """The acting user, if they may change the parent record (else NotAllowed / RecordError)."""
    actor = acting_user()
    if not actor.can_change:
        raise NotAllowed("read-only")
    _check_write(parent)
    if parent.is_deleted:
        raise RecordError(_("This record is in the recycle bin; restore it first."))
    return actor


def _on_parent(parent: Owned, **params: Any) -> None:
    # The entry names the parent, so it shows on the parent's timeline and counts in its class.
    op = current_op()
    op.target(parent, **params)
    op.class_id = parent.class_id


def _of(model: Any, parent: Owned) -> Any:
    return about_record(parent, model.record_type, model.record_id, model.class_id)


@cache
def present_select(without_class: bool) -> Any:
    """present()'s statement, one row (notes, attachments), built once per process (records/about.py); the
    record page reads it with its timeline in one statement (records/views.py)."""
    def shown(model: Any) -> Any:
        return select(model.id).where(about(without_class, model.record_type, model.record_id, model.class_id),
                                      model.deleted_at.is_(None)).exists()
    return select(shown(Note).label("notes"), shown(Attachment).label("attachments"))


def present(parent: Owned) -> tuple[bool, bool]:
    """Whether the record has notes, and attachments, shown (one query: most records have neither, and the
    page then reads no list)."""
    has_notes, has_attachments = db.session.execute(
        present_select(parent.class_id is None), about_params(parent)).one()
    return bool(has_notes), bool(has_attachments)


def notes_of(parent: Owned) -> list[Note]:
    """The record's notes, newest first (deleted ones are kept as evidence but not shown here)."""
    return list(db.session.scalars(
        select(Note).where(_of(Note, parent), Note.deleted_at.is_(None))
        .order_by(Note.created_at.desc(), Note.id.desc())))


def attachments_of(parent: Owned) -> list[Attachment]:
    """The record's attachments, newest first (deleted ones are kept as evidence but not shown here)."""
    return list(db.session.scalars(
        select(Attachment).where(_of(Attachment, parent), Attachment.deleted_at.is_(None))
        .order_by(Attachment.created_at.desc(), Attachment.id.desc())))


def child_or_404(model: type, parent: Owned, ident: int, include_deleted: bool = False) -> Any:
    """A note or attachment of this very parent (an id of another record's child is not found; a deleted one
    only when asked, for the instructor's evidence)."""
    from flask import abort

    obj = db.session.scalar(select(model).where(model.id == ident, _of(model, parent))) if 0 < ident <= DB_INT_MAX else None
    if obj is None or (obj.deleted_at and not include_deleted):
        abort(404)
    return obj


@operation("note.create")
def add_note(parent: Owned, body: str) -> Note:
    """Add a note to a record."""
    actor = _writable_parent(parent)
    body = (body or "").strip()
    if not body:
        raise RecordError(_("Write something first."), "body")
    if len(body) > NOTE_MAX:
        raise RecordError(_("At most %(n)d characters.", n=NOTE_MAX), "body")
    note = Note(record_type=parent.__audit_type__, record_id=parent.id, class_id=parent.class_id, body=body,
                author_id=actor.id)
    db.session.add(note)
    db.session.flush()
    _on_parent(parent, note=note.audit_label, note_id=note.id)
    return note


@operation("note.delete")
def delete_note(parent: Owned, note: Note) -> None:
    """Delete a note of a record: it leaves the record's page but stays in the instructor's evidence."""
    actor = _writable_parent(parent)
    if note.deleted_at is not None:
        raise RecordError(_("This note was already deleted."))
    _on_parent(parent, note=note.audit_label, note_id=note.id)
    note.deleted_at, note.deleted_by_id = utcnow(), actor.id


def upload_folder() -> Path:
    """Where attachments are stored."""
    return Path(current_app.config["UPLOAD_FOLDER"]) / "attachments"


def allowed_extensions() -> tuple[str, ...]:
    """The file extensions accepted as attachments (lower case, no dot)."""
    return tuple(e.lower().lstrip(".") for e in current_app.config.get("ATTACHMENT_EXTENSIONS", DEFAULT_EXTENSIONS))


def clean_filename(name: str) -> str:
    """The user's file name without folders or control characters (shown and offered on download only)."""
    name = _CONTROL.sub("", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if len(name) > 200:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 200 - len(ext) - 1] + dot + ext) if dot else name[:200]
    return name


def check_upload(filename: str, size: int) -> str:
    """The cleaned file name, or RecordError with a clear message (extension, size)."""
    name = clean_filename(filename)
    if not name:
        raise RecordError(_("Choose a file."), "file")
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    allowed = allowed_extensions()
    if ext not in allowed:
        raise RecordError(_("Files of type “%(ext)s” are not accepted. Allowed: %(allowed)s.",
                            ext=ext or _("no extension"), allowed=", ".join(allowed)), "file")
    limit = int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))
    if size > limit:
        raise RecordError(_("The file is %(size)s; at most %(limit)s is accepted.",
                            size=human_size(size), limit=human_size(limit)), "file")
    if size == 0:
        raise RecordError(_("The file is empty."), "file")
    return name


def human_size(size: int) -> str:
    """A size in bytes as people read it (KB, MB)."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


@operation("attachment.upload")
def upload_attachment(parent: Owned, filename: str, data: bytes) -> Attachment:
    """Store a file under a random name and attach it to a record."""
    actor = _writable_parent(parent)
    name = check_upload(filename, len(data))
    stored = secrets.token_hex(16)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    att = Attachment(record_type=parent.__audit_type__, record_id=parent.id, class_id=parent.class_id,
                     filename=name, stored_name=stored,
                     size=len(data), content_type=content_type, uploaded_by_id=actor.id)
    db.session.add(att)
    db.session.flush()
    path = upload_folder() / stored
    try:
        # Whole or nothing under its final name; refused, the row is rolled back and no file is left.
        faults.write_atomically(path, data)
    except OSError as exc:
        current_app.logger.error("attachment not stored: %s", exc)
        raise RecordError(_("The file could not be stored; nothing was saved. Tell your instructor."), "file") from exc
    faults.remove_if_rolled_back(db.session(), path)  # the row may still fail to commit: no file without it
    _on_parent(parent, filename=name, attachment_id=att.id)
    return att


@operation("attachment.delete")
def delete_attachment(parent: Owned, att: Attachment) -> None:
    """Take an attachment off the record's page; row and file stay as the instructor's evidence (a reset or
    the snapshot pruning removes them)."""
    actor = _writable_parent(parent)
    if att.deleted_at is not None:
        raise RecordError(_("This attachment was already removed."))
    _on_parent(parent, filename=att.filename, attachment_id=att.id)
    att.deleted_at, att.deleted_by_id = utcnow(), actor.id


def stored_path(att: Attachment) -> Path:
    """Where an attachment's file is stored."""
    return upload_folder() / att.stored_name


def remove_files_after_commit(stored_names: Iterable[str]) -> None:
    """Delete these attachments' files when the session's transaction commits; a rollback keeps them
    (the rows are back, so must the files be)."""
    folder = upload_folder()
    db.session.info.setdefault(_PENDING, set()).update(folder / name for name in stored_names)


@event.listens_for(Session, "after_commit")
def _remove_pending_files(session: Session) -> None:
    for path in session.info.pop(_PENDING, ()):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_rollback")
def _keep_pending_files(session: Session) -> None:
    session.info.pop(_PENDING, None)


register_verbs({
    "note.create": N_("added a note to %(label)s: %(note)s"),
    "note.delete": N_("deleted a note from %(label)s: %(note)s"),
    "attachment.upload": N_("attached %(filename)s to %(label)s"),
    "attachment.delete": N_("removed the attachment %(filename)s from %(label)s"),
})
