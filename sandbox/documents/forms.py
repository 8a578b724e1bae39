"""Document and folder forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


def folder_choices(current: int | None = None) -> list[tuple[int, str]]:
    """The folders a document may go into (those of the viewer's classes), 'Class · Folder' when several."""
    from .services import folder_labels

    return [(0, "—"), *folder_labels(current)]


class DocumentForm(FlaskForm):
    """Create and edit a document's title, folder and description (files are its versions, uploaded on its page)."""

    title = StringField(_l("Document title"), validators=[DataRequired(), Length(max=200)])
    folder_id = SelectField(_l("Folder"), coerce=int, validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        obj = kwargs.get("obj")
        self.folder_id.choices = folder_choices(getattr(obj, "folder_id", None))


class FolderForm(FlaskForm):
    """A new folder, or a folder's new name."""

    name = StringField(_l("Folder name"), validators=[DataRequired(), Length(max=100)])
    class_id = SelectField(_l("Class"), coerce=int, validators=[Optional()])
