"""Notes and attachments pages of every record type: the parent is always loaded through visibility first."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from ..access import can_write, current_viewer, get_visible_or_404, get_writable_or_404
from ..boundary import attempt
from . import notes
from .forms import ConfirmForm
from .models import Attachment, Note
from .rendered import fresh_field


class NoteForm(FlaskForm):
    """A new note on a record."""

    body = TextAreaField(_l("New note"), validators=[DataRequired(), Length(max=notes.NOTE_MAX)])


class AttachmentForm(FlaskForm):
    """A file to attach to a record."""

    file = FileField(_l("File"))


def may_change(obj: Any) -> bool:
    """Same rule as the record's own buttons: may edit the record, and it is not deleted or read-only."""
    return bool(current_user.can_change and can_write(obj, current_viewer()) and not obj.is_deleted
                and not getattr(obj, "is_read_only", False))


def _note_body() -> Markup:
    """The new note's box, as `render_field(NoteForm().body, rows=2)` writes it on a record page (kept)."""
    macros = current_app.jinja_env.get_template("bootstrap5/form.html").module
    return fresh_field("note_body", lambda: macros.render_field(NoteForm(formdata=None).body, rows=2))  # type: ignore[attr-defined]


def detail_context(obj: Any, csrf: Markup, present: tuple[bool, bool]) -> dict[str, Any]:
    """What the Notes and Attachments cards of a detail page show (`csrf`: the page's CSRF field, which every
    form of the cards carries; `present`: whether the record has notes, and attachments, as notes.present says,
    read by the page with its timeline)."""
    writable = may_change(obj)
    has_notes, has_attachments = present
    return {
        "notes": notes.notes_of(obj) if has_notes else [],
        "attachments": notes.attachments_of(obj) if has_attachments else [],
        "writable": writable,
        "note_body": _note_body() if writable else None,
        "csrf": csrf,
        "extensions": ", ".join(notes.allowed_extensions()),
        "max_size": notes.human_size(int(current_app.config.get("ATTACHMENT_MAX_BYTES", notes.DEFAULT_MAX_BYTES))),
    }


class NoteViews:
    """The note and attachment routes of one record type."""

    def __init__(self, v: Any) -> None:
        self.v = v

    def register(self) -> None:
        """Add the note and attachment routes to the type's blueprint."""
        rule = self.v.bp.add_url_rule
        rule("/<int:record_id>/notes", "add_note", self.add_note, methods=["POST"])
        rule("/<int:record_id>/notes/<int:note_id>/delete", "delete_note", self.delete_note, methods=["POST"])
        rule("/<int:record_id>/attachments", "upload_attachment", self.upload, methods=["POST"])
        rule("/<int:record_id>/attachments/<int:attachment_id>", "download_attachment", self.download)
        rule("/<int:record_id>/attachments/<int:attachment_id>/delete", "delete_attachment", self.delete_attachment,
             methods=["POST"])

    def _parent(self, record_id: int, write: bool = True) -> Any:
        """The record the note or attachment belongs to, through the permission door when changing it."""
        if write:
            return get_writable_or_404(self.v.model, record_id)
        return get_visible_or_404(self.v.model, record_id, include_deleted=True)

    def _back(self, record_id: int, anchor: str) -> Any:
        """Back to the record's card."""
        return redirect(url_for(self.v.endpoint("detail"), record_id=record_id, _anchor=anchor))

    def _run(self, record_id: int, anchor: str, call: Any, done: str) -> Any:
        """Call a service and come back to the card with a message (a refusal is flashed and rolled back)."""
        with attempt() as outcome:
            call()
        if not outcome.failed:
            flash(done, "success")
        return self._back(record_id, anchor)

    def add_note(self, record_id: int) -> Any:
        """Add a note to the record."""
        parent = self._parent(record_id)
        form = NoteForm()
        if not form.validate_on_submit():
            flash(_("Write the note first (at most %(n)d characters).", n=notes.NOTE_MAX), "danger")
            return self._back(record_id, "notes")
        return self._run(record_id, "notes", lambda: notes.add_note(parent, form.body.data), _("Note added."))

    def delete_note(self, record_id: int, note_id: int) -> Any:
        """Delete one of the record's notes."""
        parent = self._parent(record_id)
        note = notes.child_or_404(Note, parent, note_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        return self._run(record_id, "notes", lambda: notes.delete_note(parent, note), _("Note deleted."))

    def upload(self, record_id: int) -> Any:
        """Attach a file to the record."""
        parent = self._parent(record_id)
        form = AttachmentForm()
        upload = request.files.get("file")
        if not form.validate_on_submit() or upload is None or not upload.filename:
            flash(_("Choose a file to attach."), "danger")
            return self._back(record_id, "attachments")
        limit = int(current_app.config.get("ATTACHMENT_MAX_BYTES", notes.DEFAULT_MAX_BYTES))
        data = upload.stream.read(limit + 1)  # one byte more than allowed is enough to refuse it
        return self._run(record_id, "attachments", lambda: notes.upload_attachment(parent, upload.filename, data),
                         _("File attached."))

    def download(self, record_id: int, attachment_id: int) -> Any:
        """Download an attachment of a visible record."""
        parent = self._parent(record_id, write=False)
        att = notes.child_or_404(Attachment, parent, attachment_id,
                                 include_deleted=bool(getattr(current_user, "is_staff", False)))
        path = notes.stored_path(att)
        if not path.is_file():
            abort(404)
        response = send_file(path, mimetype=att.content_type, as_attachment=True, download_name=att.filename,
                             max_age=0)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def delete_attachment(self, record_id: int, attachment_id: int) -> Any:
        """Remove an attachment from the record."""
        parent = self._parent(record_id)
        att = notes.child_or_404(Attachment, parent, attachment_id)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        return self._run(record_id, "attachments", lambda: notes.delete_attachment(parent, att),
                         _("Attachment removed."))
