"""The document's registry entry: title, folder, description; its versions are its attachments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..records.registry import Column, RecordType, register
from . import services
from .forms import DocumentForm
from .models import Document

DOCUMENT = register(RecordType(
    name="document", model=Document, form=DocumentForm, singular=_l("Document"), plural=_l("Documents"),
    fields=["title", "folder_id", "description"],
    search=["title", "description"],
    columns=[Column("title", _l("Document title"), link=True), Column("folder_id", _l("Folder"), sortable=False),
             Column("description", _l("Description"), sortable=False)],
    create=services.create_document, update=services.update_document,
    detail_template="documents/detail.html",
))
