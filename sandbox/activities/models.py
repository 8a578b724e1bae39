"""The activity: a task (due date, status, priority) or an event (type, start, end, location)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..codes.services import register_usage
from ..extensions import db
from ..owned import Owned

TASK, EVENT = "task", "event"
KINDS = (TASK, EVENT)
TASK_FIELDS = ("due_date", "status", "priority")
EVENT_FIELDS = ("event_type", "start_at", "end_at", "location", "attendees")


class Activity(Owned, db.Model):
    """A task (due date, status) or an event (start, end), optionally about a lead, account, contact or opportunity."""

    __tablename__ = "activities"
    __audit_type__ = "activity"

    kind: Mapped[str] = mapped_column(String(10), default=TASK)
    subject: Mapped[str] = mapped_column(String(200))
    # Tasks: the owner is the assignee (transfer = reassign).
    due_date: Mapped[date | None]
    status: Mapped[str | None] = mapped_column(String(40))
    priority: Mapped[str | None] = mapped_column(String(40))
    # Events: times are naive UTC like every timestamp of the app.
    event_type: Mapped[str | None] = mapped_column(String(40))
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    location: Mapped[str | None] = mapped_column(String(200))
    attendees: Mapped[str | None] = mapped_column(String(1000))
    description: Mapped[str | None] = mapped_column(String(4000))
    # The one record it is about (no foreign key: the target table depends on the type).
    related_type: Mapped[str | None] = mapped_column(String(20))
    related_id: Mapped[int | None]

    @property
    def audit_label(self) -> str:
        """The subject, as the log names the activity."""
        return self.subject

    @property
    def is_task(self) -> bool:
        """Whether this activity is a task (not an event)."""
        return self.kind == TASK


# The related list of a record page, and the dashboard's "my open tasks by due date".
Index("ix_activities_related", Activity.related_type, Activity.related_id)
Index("ix_activities_owner_status_due", Activity.owner_id, Activity.status, Activity.due_date)
# The calendar: an owner's events in a time window (migration 0023_speed).
Index("ix_activities_owner_start", Activity.owner_id, Activity.start_at)

for _field, _table in (("status", "task_status"), ("priority", "priority"), ("event_type", "event_type")):
    register_usage(_table, "activity", _field)
