"""Activity pages: the generic record pages, plus "log a call" and "complete" in one click."""

from __future__ import annotations

import copy
from datetime import UTC
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from ..access import get_visible_or_404, get_writable_or_404, require_changer
from ..boundary import attempt
from ..clock import today
from ..numbers import db_id
from ..records.forms import ConfirmForm
from ..records.views import RecordViews
from . import bp, services
from .models import EVENT, KINDS, TASK, Activity
from .record import ACTIVITY, KIND_LABELS

DETAIL_FIELDS = {
    TASK: ["kind", "subject", "related", "due_date", "status", "priority", "description"],
    EVENT: ["kind", "subject", "related", "event_type", "start_at", "end_at", "location", "attendees", "description"],
}


class ActivityViews(RecordViews):
    """Kind-aware detail fields and display, the kind and quick filters, the form with its script."""

    own_display = frozenset({"kind", "related", "start_at", "end_at"})  # what `display` shows its own way

    def display(self, obj: Any, attr: str) -> str:
        """An activity's field as shown: the kind's label, a link to the related record, local times."""
        if attr == "kind":
            return str(KIND_LABELS.get(obj.kind, obj.kind))
        if attr == "related":
            if not obj.related_type:
                return ""
            model = services.related_model(obj.related_type)
            kind = _(services.RELATED_LABELS.get(obj.related_type, obj.related_type))
            if model is None:
                return kind
            return Markup("{}: {}").format(kind, self.reference_link(model, obj.related_id))
        if attr in ("start_at", "end_at"):
            value = getattr(obj, attr)
            return format_datetime(value.replace(tzinfo=UTC), "short") if value else ""
        return super().display(obj, attr)

    def prime_rows(self, rows: list[Any]) -> None:
        """Related labels of a whole page, one query per related type."""
        by_type: dict[str, list[int]] = {}
        for r in rows:
            if r.related_type and r.related_id:
                by_type.setdefault(r.related_type, []).append(r.related_id)
        for kind, ids in by_type.items():
            model = services.related_model(kind)
            if model is not None:
                self.prime_references(ids, model)

    def conditions(self, args: Any) -> list[Any]:
        """The list's filters plus kind, related record and the quick views (mine, open, overdue)."""
        where = super().conditions(args)
        if args.get("kind") in KINDS:
            where.append(Activity.kind == args["kind"])
        related = services.related_model(args.get("related_type"))
        related_id = args.get("related_id", type=db_id)
        if related is not None and related_id:
            where += [Activity.related_type == args["related_type"], Activity.related_id == related_id]
        view = args.get("view")
        if view == "mine":
            where.append(Activity.owner_id == current_user.id)
        elif view in ("open", "overdue"):
            where.append(services.open_task_condition())
            if view == "overdue":
                where.append(Activity.due_date < today())
        return where

    def is_open(self, obj: Activity) -> bool:
        """Whether the row is an open task (highlighted in lists)."""
        return services.is_open_task(obj)

    def is_overdue(self, obj: Activity) -> bool:
        """Whether the row is an open task due before today."""
        return services.is_open_task(obj) and obj.due_date is not None and obj.due_date < today()

    def render(self, template: str, **context: Any) -> str:
        """Use the activity form and show only the fields of the record's kind on its page."""
        if template == "records/form.html":
            template = "activities/form.html"
        obj = context.get("obj")
        if template == self.detail_template and obj is not None:
            # A copy per page: the shown fields depend on the record's kind.
            view = copy.copy(self)
            view.detail_fields = DETAIL_FIELDS.get(obj.kind, DETAIL_FIELDS[TASK])
            view.prime_rows([obj])
            return RecordViews.render(view, template, confirm=ConfirmForm(), **context)
        return super().render(template, **context)


views = ActivityViews(bp, ACTIVITY)
views.register()
bp.add_app_template_global(services.activities_for, "activities_for")


def _back_to(default: str) -> str:
    """A local path from the form's `next` (never another site), else `default`."""
    target = request.form.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@bp.post("/log-call")
def log_call() -> Any:
    """Log a completed call with a lead, account, contact or opportunity in one click."""
    require_changer()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    model = services.related_model(request.form.get("related_type"))
    related_id = request.form.get("related_id", type=db_id)
    if model is None or not related_id:
        abort(404)
    record = get_visible_or_404(model, related_id)
    back = url_for(f"{model.__tablename__}.detail", record_id=record.id)
    with attempt(category="warning") as outcome:
        call = services.log_call(record, request.form.get("subject"), request.form.get("description"))
    if not outcome.failed:
        flash(_("Call logged: %(subject)s.", subject=call.subject), "success")
    return redirect(back)


@bp.post("/<int:record_id>/complete")
def complete(record_id: int) -> Any:
    """Mark a task completed in one click (from its page, a record's panel or the dashboard)."""
    obj = get_writable_or_404(Activity, record_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt(category="warning") as outcome:
        services.complete_task(obj)
    if not outcome.failed:
        flash(_("Task completed: %(subject)s.", subject=obj.subject), "success")
    return redirect(_back_to(url_for("activities.detail", record_id=record_id)))
