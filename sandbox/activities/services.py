"""Activity services: create/update with kind rules and the related record checked through visibility,
log a call, complete a task, move open activities on lead conversion, and the panel and dashboard reads."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, or_, select

from ..access import can_write, current_viewer
from ..clock import today, utcnow
from ..codes.services import choices, extra
from ..extensions import db
from ..i18n import N_
from ..oplog import current_actor, current_op, operation, register_verbs
from ..org.models import User
from ..owned import Owned
from ..records import registry
from ..records.lookups import visible_or_none
from ..records.services import NotAllowed, RecordError, _check_write, create_record, update_record
from .models import EVENT, EVENT_FIELDS, KINDS, TASK, TASK_FIELDS, Activity

# Record types an activity may relate to (campaigns and cases join when they exist).
RELATED_TYPES = ("lead", "account", "contact", "opportunity", "campaign", "case")
RELATED_LABELS = {"lead": N_("Lead"), "account": N_("Account"), "contact": N_("Contact"),
                  "opportunity": N_("Opportunity"), "campaign": N_("Campaign"), "case": N_("Case")}
PANEL_EVENTS = 10


def related_model(kind: str | None) -> Any:
    """The model class of a related record type, or None if activities cannot relate to it."""
    if kind not in RELATED_TYPES:
        return None
    found = registry.find(kind)
    return found.model if found is not None else None


def closed_statuses() -> list[str]:
    """Task status codes whose code-table extra says closed (completed by default)."""
    return [code for code, _label in choices("task_status") if extra("task_status", code).get("closed")] or [
        "completed"]


def is_open_task(obj: Activity) -> bool:
    """Whether the activity is a task whose status is not a closed one."""
    return obj.kind == TASK and obj.status not in closed_statuses()


def open_task_condition(closed: Any = None) -> Any:
    """SQL: an open task (status not closed per the code table; `closed`: those statuses, or a parameter for them)."""
    return and_(Activity.kind == TASK,
                or_(Activity.status.is_(None), Activity.status.not_in(closed_statuses() if closed is None else closed)))


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) of every rule the data breaks; shared by the form and the services."""
    found: list[tuple[str, str]] = []
    kind = data.get("kind")
    if kind not in KINDS:
        return [("kind", _("Choose task or event."))]
    if not (data.get("subject") or "").strip():
        found.append(("subject", _("Give the subject.")))
    if kind == TASK:
        if not data.get("due_date"):
            found.append(("due_date", _("A task needs a due date.")))
        if data.get("status") and data["status"] not in dict(choices("task_status", data["status"])):
            found.append(("status", _("Choose a status from the list.")))
    else:
        if not data.get("start_at"):
            found.append(("start_at", _("An event needs a start time.")))
        elif data.get("end_at") and data["end_at"] < data["start_at"]:
            found.append(("end_at", _("The end must not be before the start.")))
    related_type = data.get("related_type") or None
    if related_type and related_type not in RELATED_TYPES:
        found.append(("related_type", _("Choose a record type from the list.")))
    elif related_type and not data.get("related_id"):
        found.append(("related_id", _("Choose the record this activity is about.")))
    elif data.get("related_id") and not related_type:
        found.append(("related_type", _("Choose the type of the related record.")))
    return found


def _clean(data: dict[str, Any], current: Activity | None = None) -> dict[str, Any]:
    data = {**data, "related_type": data.get("related_type") or None, "related_id": data.get("related_id") or None}
    found = problems(data)
    if found:
        raise RecordError(found[0][1], found[0][0])
    unchanged = current is not None and (current.related_type, current.related_id) == (
        data["related_type"], data["related_id"])
    if data["related_type"] and not unchanged:
        related = visible_or_none(related_model(data["related_type"]), data["related_id"])
        if related is None:
            raise RecordError(_("Choose a record you can see."), "related_id")
    # Fields of the other kind are cleared, so a task never carries a stale event time and vice versa.
    cleared = EVENT_FIELDS if data["kind"] == TASK else TASK_FIELDS
    data.update(dict.fromkeys(cleared))
    if data["kind"] == TASK:
        data["status"] = data.get("status") or "not_started"
        data["priority"] = data.get("priority") or "normal"
    else:
        data["event_type"] = data.get("event_type") or "meeting"
        data["end_at"] = data.get("end_at") or data["start_at"]
    return data


def related_label(obj: Activity) -> str:
    """The label of the related record as the viewer sees it ("" when none or not visible)."""
    related = visible_or_none(related_model(obj.related_type), obj.related_id) if obj.related_type else None
    return related.audit_label if related is not None else ""


def _related_params(obj: Activity) -> dict[str, Any]:
    """The summary's label plus the related record's type and id (sequence objectives follow the record)."""
    return {"related": related_label(obj) or "—", "related_type": obj.related_type, "related_id": obj.related_id}


def _name_related(obj: Activity) -> None:
    current_op().target(obj, **_related_params(obj))


def create_activity(cls: type, data: dict[str, Any], owner: Any = None) -> Activity:
    """Create a task or event after checking its kind rules and related record."""
    return create_record(Activity, _clean(data), owner, after=_name_related)


def update_activity(obj: Activity, data: dict[str, Any], expected_version: int | None = None) -> Activity:
    """Save an activity's fields after checking its kind rules and related record."""
    return update_record(obj, _clean(data, obj), expected_version=expected_version)


@operation("activity.log_call")
def log_call(record: Owned, subject: str | None = None, description: str | None = None) -> Activity:
    """A completed call with `record` (loaded through visibility by the caller), starting and ending now."""
    actor = current_actor()
    if actor is None or not actor.can_change:
        raise NotAllowed("read-only")
    kind = getattr(type(record), "__audit_type__", None)
    if kind not in RELATED_TYPES:
        raise RecordError(_("Calls can be logged on leads, accounts, contacts and opportunities."), "related_type")
    if getattr(record, "is_read_only", False):
        raise RecordError(_("This record is read-only; log the call on the record it was converted to."))
    now = utcnow()
    subject = (subject or "").strip()[:200] or _("Call with %(name)s", name=record.audit_label)[:200]
    call = Activity(kind=EVENT, event_type="call", subject=subject, start_at=now, end_at=now,
                    description=(description or "").strip()[:4000] or None, related_type=kind, related_id=record.id,
                    owner_id=actor.id, class_id=actor.class_id, created_by_id=actor.id)
    db.session.add(call)
    current_op().target(call, related=record.audit_label, related_type=kind, related_id=record.id)
    return call


@operation("activity.complete")
def complete_task(obj: Activity) -> Activity:
    """Mark a task completed in one click."""
    _check_write(obj)
    if obj.is_deleted:
        raise RecordError(_("This record is in the recycle bin; restore it before editing."))
    if obj.kind != TASK:
        raise RecordError(_("Only tasks are completed; an event is over when it ends."))
    if not is_open_task(obj):
        raise RecordError(_("This task is completed already."))
    obj.status = "completed"
    _name_related(obj)
    return obj


def move_open_activities(from_type: str, from_id: int, to_type: str, to_id: int) -> int:
    """Point the open tasks and future events of one record at another (runs inside the caller's
    operation, e.g. lead.convert, whose entry lists the moved activities). Returns how many moved."""
    viewer = current_viewer()
    stmt = select(Activity).where(
        Activity.related_type == from_type, Activity.related_id == from_id,
        or_(open_task_condition(), and_(Activity.kind == EVENT, Activity.start_at >= utcnow())))
    moved = 0
    for obj in db.session.scalars(stmt):
        # Only what the converting user may change follows; others' private activities stay put.
        if can_write(obj, viewer):
            obj.related_type, obj.related_id = to_type, to_id
            moved += 1
    return moved


@cache
def _panel_select() -> Any:
    """The panel's statement, built once per process (the record and the closed statuses are parameters; the
    session adds the visibility rule to each execution). Rows of the columns the panel shows, with the owner's
    name joined in: entities cost more to build, and each other owner was a lazy load; the visibility rule
    applies to a column SELECT of the model all the same."""
    return (select(Activity.id, Activity.kind, Activity.subject, Activity.due_date, Activity.event_type,
                   Activity.start_at, Activity.created_at, User.display_name.label("owner_name"))
            .join(User, User.id == Activity.owner_id)
            .where(Activity.related_type == bindparam("related_type"), Activity.related_id == bindparam("related_id"),
                   or_(open_task_condition(bindparam("closed", expanding=True)), Activity.kind == EVENT))
            .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(100))


def activities_for(record: Any) -> dict[str, Any] | None:
    """Open tasks and recent events of a record for its detail page (one query), or None for other types.

    Tasks and events are rows (id, kind, subject, due_date, event_type, start_at, created_at, owner_name)."""
    kind = getattr(type(record), "__audit_type__", None)
    if kind not in RELATED_TYPES or getattr(record, "id", None) is None:
        return None
    rows = db.session.execute(_panel_select(), {"related_type": kind, "related_id": record.id,
                                                "closed": closed_statuses()}).all()
    tasks = sorted((a for a in rows if a.kind == TASK), key=lambda a: (a.due_date or date.max, -a.id))
    events = sorted((a for a in rows if a.kind == EVENT), key=lambda a: (a.start_at or a.created_at), reverse=True)
    return {"type": kind, "id": record.id, "tasks": tasks, "events": events[:PANEL_EVENTS],
            "today": today(), "addable": not record.is_deleted and not getattr(record, "is_read_only", False)}


@cache
def _due_select() -> Any:
    """dashboard_tasks()'s statement, built once per process (the user, the day and the closed statuses are
    parameters)."""
    return (select(Activity)
            .where(Activity.owner_id == bindparam("owner_id"), open_task_condition(bindparam("closed", expanding=True)),
                   Activity.due_date <= bindparam("day"))
            .order_by(Activity.due_date.asc(), Activity.id.asc()).limit(200))


def dashboard_tasks(user_id: int) -> tuple[list[Activity], list[Activity]]:
    """The user's open tasks due today and overdue ones (one query)."""
    day = today()
    rows = db.session.scalars(_due_select(), {"owner_id": user_id, "day": day, "closed": closed_statuses()}).all()
    return [a for a in rows if a.due_date == day][:20], [a for a in rows if a.due_date < day][:20]


register_verbs({
    "activity.create": N_("created activity %(label)s"),
    "activity.update": N_("edited activity %(label)s"),
    "activity.transfer": N_("reassigned activity %(label)s from %(old_owner)s to %(new_owner)s"),
    "activity.delete": N_("deleted activity %(label)s"),
    "activity.restore": N_("restored activity %(label)s"),
    "activity.log_call": N_("logged a call with %(related)s"),
    "activity.complete": N_("completed task %(label)s"),
})
