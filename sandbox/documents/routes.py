"""Document pages: the generic record pages, a folder column on the list, versions and their downloads.

Uploading a version and downloading any version are the generic attachment routes of the type
(records/note_views.py), so the size and type checks and the visibility of the parent are the same as
on every record; the document page lists the attachments as numbered versions.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from ..access import current_viewer, get_visible_or_404, require_changer
from ..boundary import attempt
from ..numbers import db_id
from ..records import notes
from ..records.forms import ConfirmForm
from ..records.views import RecordViews
from . import bp, services
from .forms import FolderForm
from .models import Document
from .record import DOCUMENT


class DocumentViews(RecordViews):
    """The document's pages: folders beside the list, versions on the record page."""

    def conditions(self, args: Any) -> list[Any]:
        """The list's conditions, plus `?folder=` (a folder the viewer sees; anything else is ignored)."""
        where = super().conditions(args)
        folder_id = args.get("folder", type=db_id)
        if folder_id and folder_id in {f.id for f in services.folders()}:
            where.append(Document.folder_id == folder_id)
        return where

    def display(self, obj: Any, attr: str) -> str:
        """The folder by name, linked to the list of its documents."""
        if attr == "folder_id":
            if not obj.folder_id:
                return ""
            names = {f.id: f.name for f in services.folders()}
            name = names.get(obj.folder_id, "")
            return Markup('<a href="{}">{}</a>').format(url_for("documents.index", folder=obj.folder_id), name)
        return super().display(obj, attr)

    def render(self, template: str, **context: Any) -> str:
        """The list gets the folders; the record page shows its attachments as versions (no generic cards)."""
        if template == "records/list.html":
            rows = services.folders()
            context.update(folders=rows, counts=services.document_counts(), folder_form=FolderForm(),
                           confirm=ConfirmForm(), manageable={f.id for f in rows if _manageable(f)},
                           class_choices=_folder_classes(), current_folder=request.args.get("folder", type=db_id))
            template = "documents/list.html"
        if template == self.detail_template and "extras" in context:
            x = context.pop("extras")
            context.update(x=x, versions=services.versions(context["obj"]))
        return super().render(template, **context)


def _manageable(folder: Any) -> bool:
    viewer = current_viewer()
    return bool(current_user.can_change) and (folder.class_id in getattr(viewer, "managed_class_ids", ()) or (
        folder.created_by_id == current_user.id and folder.class_id == current_user.class_id))


def _folder_classes() -> list[tuple[int, str]]:
    """Where the viewer may make a folder: their own class, or the classes they run."""
    from ..products.services import class_names

    viewer = current_viewer()
    ids = set(getattr(viewer, "managed_class_ids", ())) | ({current_user.class_id} if current_user.class_id else set())
    return sorted(class_names(ids).items(), key=lambda item: item[1])


views = DocumentViews(bp, DOCUMENT)
views.register()


def _back(folder_id: int | None = None) -> Any:
    return redirect(url_for("documents.index", folder=folder_id) if folder_id else url_for("documents.index"))


@bp.route("/folders/new", methods=["POST"])
def folder_create() -> Any:
    """Make a folder (the form beside the list); a refusal is flashed."""
    require_changer()
    form = FolderForm()
    form.class_id.choices = _folder_classes()
    if not form.validate_on_submit():
        flash(_("Name the folder (at most 100 characters)."), "danger")
        return _back()
    with attempt() as outcome:
        folder = services.create_folder(form.class_id.data or None, form.name.data)
    if outcome.failed:
        return _back()
    flash(_("Folder “%(name)s” created.", name=folder.name), "success")
    return _back(folder.id)


@bp.route("/folders/<int:folder_id>/rename", methods=["POST"])
def folder_rename(folder_id: int) -> Any:
    """Rename a folder (its creator or the class's instructors)."""
    require_changer()
    folder = services.folder_or_404(folder_id)
    form = FolderForm()
    form.class_id.choices = []
    if not form.validate_on_submit():
        flash(_("Name the folder (at most 100 characters)."), "danger")
        return _back(folder.id)
    with attempt() as outcome:
        services.rename_folder(folder, form.name.data)
    if not outcome.failed:
        flash(_("Folder renamed."), "success")
    return _back(folder.id)


@bp.route("/folders/<int:folder_id>/delete", methods=["POST"])
def folder_delete(folder_id: int) -> Any:
    """Delete an empty folder."""
    require_changer()
    folder = services.folder_or_404(folder_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt(category="warning") as outcome:
        services.delete_folder(folder)
    if outcome.failed:
        return _back(folder_id)
    flash(_("Folder deleted."), "success")
    return _back()


@bp.route("/<int:record_id>/download")
def download_current(record_id: int) -> Any:
    """Download the document's current (newest) version; 404 when invisible or nothing was uploaded."""
    document = get_visible_or_404(Document, record_id)
    att = services.current_version(document)
    if att is None or not notes.stored_path(att).is_file():
        abort(404)
    response = send_file(notes.stored_path(att), mimetype=att.content_type, as_attachment=True,
                         download_name=att.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

