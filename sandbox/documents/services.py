"""Document and folder services: folders per class, documents in them, versions as attachments.

A folder is not a record: it belongs to a class, and the documents in it carry the visibility (the
"document" sharing mode of the class decides whether classmates read or change them). Any member of a
class who may change data makes folders there; its creator or the class's instructors rename it and
delete it once empty. A document's versions are its attachments (record_type "document"), uploaded
and checked by records/notes.py; the newest is the current version.
"""

from __future__ import annotations

from typing import Any

from flask import abort, g, has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..access import Viewer, current_viewer
from ..extensions import db
from ..i18n import N_
from ..numbers import DB_INT_MAX
from ..oplog import current_op, operation, register_verbs
from ..records import notes
from ..records.models import Attachment
from ..records.services import NotAllowed, RecordError, acting_user, update_record
from .models import Document, Folder


def folder_class_ids(viewer: Any = None) -> set[int]:
    """Classes whose folders the viewer sees: their own class, and the classes they run or observe."""
    viewer = viewer if viewer is not None else current_viewer()
    if not isinstance(viewer, Viewer):
        return set()
    return set(viewer.readable_class_ids) | ({viewer.class_id} if viewer.class_id is not None else set())


def folders(class_ids: set[int] | None = None) -> list[Folder]:
    """The folders the viewer sees (of `class_ids` among them), by name."""
    ids = folder_class_ids() if class_ids is None else folder_class_ids() & class_ids
    if not ids:
        return []
    # Once per request and set of classes: the list page names a folder on every row.
    cache = g.setdefault("document_folders", {}) if has_request_context() else {}
    # Keyed by the request too: a test's app context (and its g) outlives one request.
    key = (id(request._get_current_object()) if has_request_context() else 0, *sorted(ids))
    if key not in cache:
        cache[key] = list(db.session.scalars(select(Folder).where(Folder.class_id.in_(sorted(ids)))
                                             .order_by(Folder.name, Folder.id)))
    return list(cache[key])


def _forget_folders() -> None:
    if has_request_context():
        g.pop("document_folders", None)


def folder_labels(current: int | None = None) -> list[tuple[int, str]]:
    """(id, label) of the folders a document may be filed in; the class is named when there are several."""
    from ..products.services import class_names

    rows = folders()
    names = class_names({f.class_id for f in rows})
    several = len(names) > 1
    return [(f.id, f"{names[f.class_id]} · {f.name}" if several else f.name) for f in rows]


def folder_or_404(ident: int) -> Folder:
    """A folder of a class the viewer sees; another class's folder and a missing one are both 404."""
    folder = db.session.get(Folder, ident) if 0 < ident <= DB_INT_MAX else None
    if folder is None or folder.class_id not in folder_class_ids():
        abort(404)
    return folder


def document_counts() -> dict[int, int]:
    """Folder id -> how many documents the viewer sees in it (the visibility rule counts)."""
    rows = db.session.execute(select(Document.folder_id, func.count()).where(Document.folder_id.is_not(None))
                              .group_by(Document.folder_id)).all()
    return {folder_id: n for folder_id, n in rows}


def _may_make_folder_in(actor: Any, class_id: int | None) -> bool:
    viewer = current_viewer()
    return class_id is not None and isinstance(viewer, Viewer) and (
        class_id == actor.class_id or class_id in viewer.managed_class_ids)


def _may_manage(actor: Any, folder: Folder) -> bool:
    viewer = current_viewer()
    return isinstance(viewer, Viewer) and (folder.class_id in viewer.managed_class_ids or (
        folder.created_by_id == actor.id and folder.class_id == actor.class_id))


def _folder_name(name: str | None, class_id: int, current: Folder | None = None) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise RecordError(_("Name the folder (at most 100 characters)."), "name")
    twin = select(Folder.id).where(Folder.class_id == class_id, Folder.parent_id.is_(None),
                                   func.lower(Folder.name) == name.lower())
    if current is not None:
        twin = twin.where(Folder.id != current.id)
    if db.session.scalar(twin.limit(1)) is not None:
        raise RecordError(_("A folder called “%(name)s” exists already.", name=name), "name")
    return name


def _changer() -> Any:
    actor = acting_user()
    if not actor.can_change:
        raise NotAllowed("read-only")
    return actor


@operation("folder.create")
def create_folder(class_id: int | None, name: str) -> Folder:
    """Make a folder in a class: the actor's own class, or one they run."""
    actor = _changer()
    class_id = class_id or actor.class_id
    if not _may_make_folder_in(actor, class_id):
        raise RecordError(_("Choose your class or a class you manage."), "class_id")
    folder = Folder(class_id=class_id, name=_folder_name(name, class_id), created_by_id=actor.id)
    db.session.add(folder)
    _forget_folders()
    current_op().target(folder)
    current_op().class_id = class_id
    return folder


@operation("folder.rename")
def rename_folder(folder: Folder, name: str) -> Folder:
    """Rename a folder (its creator or the class's instructors)."""
    actor = _changer()
    if not _may_manage(actor, folder):
        raise NotAllowed("folder")
    before = folder.name
    folder.name = _folder_name(name, folder.class_id, folder)
    current_op().target(folder, old_name=before)
    current_op().class_id = folder.class_id
    return folder


@operation("folder.delete")
def delete_folder(folder: Folder) -> None:
    """Delete an empty folder (no document in it, not even one in the recycle bin or of another owner)."""
    actor = _changer()
    if not _may_manage(actor, folder):
        raise NotAllowed("folder")
    # Whoever can see them: a classmate's private document still lives in this folder.
    used = select(Document.id).where(Document.folder_id == folder.id).limit(1)
    if db.session.scalar(used.execution_options(skip_visibility=True, include_deleted=True)) is not None:
        raise RecordError(_("“%(name)s” still holds documents (perhaps in the recycle bin or a classmate's); "
                            "move them first.", name=folder.name))
    if db.session.scalar(select(Folder.id).where(Folder.parent_id == folder.id).limit(1)) is not None:
        raise RecordError(_("“%(name)s” holds other folders.", name=folder.name))
    current_op().target(folder)
    current_op().class_id = folder.class_id
    db.session.delete(folder)
    _forget_folders()


def _clean(data: dict[str, Any], actor: Any, current: Document | None = None) -> dict[str, Any]:
    data = dict(data)
    data["title"] = (data.get("title") or "").strip()
    if not data["title"]:
        raise RecordError(_("Give the document a title."), "title")
    folder_id = data.get("folder_id") or None
    folder = db.session.get(Folder, folder_id) if folder_id and 0 < folder_id <= DB_INT_MAX else None
    if folder_id and (folder is None or folder.class_id not in folder_class_ids()):
        raise RecordError(_("Choose one of your class's folders."), "folder_id")
    class_id = current.class_id if current is not None else actor.class_id
    if folder is not None:
        if current is None and actor.class_id is None:
            class_id = folder.class_id  # an instructor files a document into one of their classes
        if folder.class_id != class_id:
            raise RecordError(_("Choose a folder of the document's class."), "folder_id")
    if class_id is None:
        raise RecordError(_("Choose a folder: it says which class the document belongs to."), "folder_id")
    data["folder_id"] = folder.id if folder is not None else None
    data["class_id"] = class_id
    return data


@operation("document.create")
def create_document(cls: type, data: dict[str, Any], owner: Any = None) -> Document:
    """Create a document (its files are uploaded as versions afterwards)."""
    actor = _changer()
    data = _clean(data, actor)
    document = Document(**data, owner_id=actor.id, created_by_id=actor.id)
    db.session.add(document)
    current_op().target(document)
    return document


def update_document(obj: Document, data: dict[str, Any], expected_version: int | None = None) -> Document:
    """Save a document's title, folder and description."""
    actor = _changer()
    data = _clean(data, actor, obj)
    data.pop("class_id", None)
    return update_record(obj, data, expected_version=expected_version)


def versions(document: Document) -> list[tuple[int, Attachment]]:
    """(number, attachment) of the document's versions, newest first; version 1 is the first upload."""
    rows = notes.attachments_of(document)
    return [(len(rows) - i, att) for i, att in enumerate(rows)]


def current_version(document: Document) -> Attachment | None:
    """The newest version, if any file was uploaded."""
    rows = notes.attachments_of(document)
    return rows[0] if rows else None


def upload_version(document: Document, filename: str, data: bytes) -> Attachment:
    """Upload a new version: the attachment upload (size and type checks, logged); older versions stay."""
    return notes.upload_attachment(document, filename, data)


register_verbs({
    "document.create": N_("created document %(label)s"),
    "document.update": N_("edited document %(label)s"),
    "document.transfer": N_("transferred document %(label)s from %(old_owner)s to %(new_owner)s"),
    "document.delete": N_("deleted document %(label)s"),
    "document.restore": N_("restored document %(label)s"),
    "folder.create": N_("created folder %(label)s"),
    "folder.rename": N_("renamed folder %(old_name)s to %(label)s"),
    "folder.delete": N_("deleted folder %(label)s"),
})
