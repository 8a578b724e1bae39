"""The features every record type gets besides its pages: export, import, notes and attachments.

`RecordViews.register` calls `register_extras(self)`; the detail page gets `detail_extras(obj)` and the
list page `list_extras(model)`. Which type is which is the registry's business (records/registry.py).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from . import list_filters
from .exporting import export_response, register_generic_verbs
from .import_views import import_page
from .note_views import NoteViews, detail_context


def register_extras(v: Any) -> None:
    """Add the export, import, note and attachment routes to a record type's blueprint."""
    register_generic_verbs(v.model.__audit_type__)
    rule = v.bp.add_url_rule
    # POST: an export writes a log entry that objectives and class activity count, and GET requests write
    # nothing that grading reads (a link, a prefetch or another site's <img> cannot export in a student's name).
    rule("/export.csv", "export_csv", lambda: export_response(v, "csv"), methods=["POST"])
    rule("/export.xlsx", "export_xlsx", lambda: export_response(v, "xlsx"), methods=["POST"])
    rule("/import", "import_records", lambda: import_page(v), methods=["GET", "POST"])
    NoteViews(v).register()


def detail_extras(obj: Any, csrf: Markup, present: tuple[bool, bool]) -> dict[str, Any]:
    """Context of the Notes and Attachments cards (`csrf`: the page's CSRF field; `present`: whether the record
    has notes, and attachments)."""
    return detail_context(obj, csrf, present)


def list_extras(model: Any) -> dict[str, Any]:
    """Context of the list's owner filter (and its users' names, which the rows' owner column reads) and its
    warnings about ignored filter values."""
    return {"owners": list_filters.owner_choices(model), "owner_names": list_filters.owner_names(model),
            "problems": list_filters.problems(), "notes": list_filters.notes()}
