"""The activity's registry entry: a task or an event, its fields, labels, list, filters and services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from ..records.registry import Column, Filter, RecordType, register
from . import services
from .forms import ActivityForm
from .models import EVENT, TASK, Activity

FORM_FIELDS = ["kind", "subject", "related_type", "related_id", "due_date", "status", "priority", "event_type",
               "start_at", "end_at", "location", "attendees", "description"]
KIND_LABELS = {TASK: _l("Task"), EVENT: _l("Event")}
VIEWS = {"mine": _l("My activities"), "open": _l("Open tasks"), "overdue": _l("Overdue tasks")}


@dataclass
class ChoiceFilter(Filter):
    """A list filter with fixed choices instead of a code table."""

    options: dict[str, Any] | None = None

    @property
    def choices(self) -> list[tuple[str, str]]:
        """The fixed options as (value, label) pairs."""
        return [(k, str(v)) for k, v in (self.options or {}).items()]


ACTIVITY = register(RecordType(
    name="activity", model=Activity, form=ActivityForm, singular=_l("Activity"), plural=_l("Activities"),
    # Every field for export and import; the detail page shows those of the record's kind (ActivityViews.render).
    fields=FORM_FIELDS,
    codes={"status": "task_status", "priority": "priority", "event_type": "event_type"},
    # The record an activity is about, shown as one field on its page, in the log and in the objectives.
    labels={"related": _l("Related to")},
    search=["subject", "description", "location", "attendees"],
    columns=[Column("subject", _l("Subject"), link=True), Column("kind", _l("Kind")),
             Column("status", _l("Status"), code="task_status"), Column("due_date", _l("Due date")),
             Column("event_type", _l("Event type"), code="event_type"), Column("start_at", _l("Start")),
             Column("related", _l("Related to"), sortable=False)],
    filters=[ChoiceFilter("view", _l("Show"), "", options=VIEWS), ChoiceFilter("kind", _l("Kind"), "", options=KIND_LABELS),
             Filter("status", _l("Status"), "task_status"), Filter("event_type", _l("Event type"), "event_type")],
    create=services.create_activity, update=services.update_activity,
    detail_template="activities/detail.html",
))
