"""Calendar reads and changes: whose calendar a viewer may open, the events of a range as FullCalendar
JSON, rescheduling by drag (through the activities update service), and the iCalendar feed token.

Times: activities store naive UTC; the calendar speaks naive *local* times (the configured time zone) to
the browser, which runs FullCalendar in its "UTC" mode as a floating clock, so nothing depends on the
time zone of the student's computer.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for
from flask_babel import get_timezone, to_user_timezone, to_utc
from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from ..access import Viewer, can_write, current_viewer
from ..activities import services as activity_services
from ..activities.models import EVENT, TASK, Activity
from ..activities.record import FORM_FIELDS
from ..clock import today, utcnow
from ..errors import ServiceError
from ..extensions import db
from ..i18n import N_
from ..oplog import current_actor, current_op, operation, register_verbs
from ..org.models import Position, PositionKind, User
from ..reports.engine import department_members
from .models import CalendarFeed

VIEWS = {"day": "timeGridDay", "week": "timeGridWeek", "month": "dayGridMonth"}
ME = "me"
TEAM_PREFIX = "team-"
# A range wider than this is refused: FullCalendar asks for at most six weeks (the month grid).
MAX_RANGE_DAYS = 62
MIN_YEAR, MAX_YEAR = 1900, 9000


class CalendarInputError(ServiceError):
    """A bad `view`, `date`, `who`, `start` or `end` in the URL (400 with the message)."""


@dataclass(frozen=True)
class Who:
    """Whose calendar is shown: the viewer's own, one subordinate, or everyone placed under a position."""

    key: str
    label: str
    owner_id: int | None = None
    team_id: int | None = None

    def condition(self) -> Any:
        """SQL: the activities of these owners (visibility is added on top by access.py)."""
        if self.team_id is not None:
            return Activity.owner_id.in_(department_members(self.team_id))
        return Activity.owner_id == self.owner_id


def parse_view(raw: str | None) -> str:
    """The view name (day, week, month; month by default) or a CalendarInputError."""
    value = (raw or "month").strip()
    if value not in VIEWS:
        raise CalendarInputError(_("Choose the day, week or month view."), "view")
    return value


def parse_day(raw: str | None, field: str = "date") -> date:
    """A YYYY-MM-DD day (today by default) or a CalendarInputError."""
    if not raw:
        return today()
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise CalendarInputError(_("Give the date as YYYY-MM-DD."), field) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise CalendarInputError(_("Give a date between the years %(first)d and %(last)d.", first=MIN_YEAR,
                                   last=MAX_YEAR), field)
    return day


def parse_moment(raw: str | None, field: str) -> datetime:
    """A local naive time from FullCalendar's range (a day, or a day and time with an optional Z/offset)."""
    text = (raw or "").strip()
    if not text:
        raise CalendarInputError(_("Give the start and end of the range."), field)
    # FullCalendar in UTC mode sends "…Z": the clock it shows is already local, so the suffix is dropped.
    text = text.removesuffix("Z")
    if len(text) > 19 and text[19] in "+-.":
        text = text[:19]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CalendarInputError(_("Give the date as YYYY-MM-DD."), field) from None
    # Converting year 1 or 9999 between time zones leaves the calendar of Python's datetime (a 500, not a 400).
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise CalendarInputError(_("Give a date between the years %(first)d and %(last)d.", first=MIN_YEAR,
                                   last=MAX_YEAR), field)
    return moment.replace(tzinfo=None)


def parse_range(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """The [start, end) local range asked for, or a CalendarInputError (end before start, too wide)."""
    first, last = parse_moment(start, "start"), parse_moment(end, "end")
    if last <= first:
        raise CalendarInputError(_("The end must be after the start."), "end")
    if last - first > timedelta(days=MAX_RANGE_DAYS):
        raise CalendarInputError(_("Ask for at most %(days)d days at once.", days=MAX_RANGE_DAYS), "end")
    return first, last


def who_choices() -> list[Who]:
    """Whose calendars the viewer may open: their own, then each department or class below their position
    (their own department included), then each subordinate. A student without subordinates: only their own."""
    viewer = current_viewer()
    if not isinstance(viewer, Viewer):
        return []
    found = [Who(ME, _("My calendar"), owner_id=viewer.user_id)]
    kinds = (PositionKind.CLASS, PositionKind.DEPARTMENT)
    stmt = select(Position.id, Position.name, Position.kind).where(Position.kind.in_(kinds))
    if not viewer.is_admin:
        if not viewer.position_path or not (viewer.subordinate_ids or viewer.below_class_ids):
            return found
        stmt = stmt.where(Position.path.startswith(viewer.position_path))
    for row in db.session.execute(stmt.order_by(Position.path, Position.name)):
        label = _("Class %(name)s", name=row.name) if row.kind == PositionKind.CLASS else _(
            "Department %(name)s", name=row.name)
        found.append(Who(f"{TEAM_PREFIX}{row.id}", label, team_id=row.id))
    people = viewer.subordinate_ids - {viewer.user_id}
    if people:
        rows = db.session.execute(select(User.id, User.display_name, User.username).where(User.id.in_(people))
                                  .order_by(User.display_name, User.id))
        found += [Who(str(r.id), f"{r.display_name} ({r.username})", owner_id=r.id) for r in rows]
    return found


def parse_who(raw: str | None, choices: list[Who] | None = None) -> Who:
    """The chosen calendar among `who_choices()`; anything else (another class's user, a typo) is refused."""
    value = (raw or ME).strip()
    viewer = current_viewer()
    if value == ME and choices is None and isinstance(viewer, Viewer):
        # One's own calendar needs no list of the others (the month's JSON asks on every navigation).
        return Who(ME, _("My calendar"), owner_id=viewer.user_id)
    for choice in choices if choices is not None else who_choices():
        if choice.key == value:
            return choice
    raise CalendarInputError(_("Choose whose calendar to show from the list."), "who")


def _local(moment: datetime) -> datetime:
    """A stored naive UTC time as a naive local time."""
    return to_user_timezone(moment.replace(tzinfo=UTC)).replace(tzinfo=None)


def _utc(moment: datetime) -> datetime:
    """A naive local time as the stored naive UTC."""
    return to_utc(moment).replace(tzinfo=None)


def range_condition(first: datetime, last: datetime) -> Any:
    """SQL: events overlapping [first, last) and tasks due on a day in it (local times)."""
    start_utc, end_utc = _utc(first), _utc(last)
    last_day = (last - timedelta(microseconds=1)).date()
    return or_(
        # An event ending exactly at the range's start is not in it, unless it lasts no time at all (a call).
        and_(Activity.kind == EVENT, Activity.start_at < end_utc,
             or_(func.coalesce(Activity.end_at, Activity.start_at) > start_utc, Activity.start_at >= start_utc)),
        and_(Activity.kind == TASK, Activity.due_date >= first.date(), Activity.due_date <= last_day),
    )


COLUMNS = (Activity.id, Activity.kind, Activity.subject, Activity.owner_id, Activity.class_id, Activity.version,
           Activity.due_date, Activity.status, Activity.start_at, Activity.end_at)


def range_query(who: Who, first: datetime, last: datetime) -> Any:
    """The ORM statement of the calendar's activities, the columns the calendar shows and the owner's name.

    Columns rather than whole records: the month of a busy class is thousands of rows, and building an
    object (with its eagerly joined owner) per row cost more than everything else. It is still an ORM
    select of Activity, so access.py adds the visibility rule to it as to every other."""
    return (select(*COLUMNS, User.display_name.label("owner_name")).join(User, User.id == Activity.owner_id)
            .where(who.condition(), range_condition(first, last), Activity.deleted_at.is_(None)))
    # No ORDER BY: FullCalendar lays events out by time itself, and sorting a busy month cost a temporary B-tree.


class _WriteProbe:
    """What `access.can_write` reads of an activity (owner, class and the type's sharing attributes), so a
    row of columns can be asked about without loading the record."""

    __audit_type__ = Activity.__audit_type__
    __slots__ = ("owner_id", "class_id")

    def __init__(self, owner_id: int, class_id: int | None) -> None:
        self.owner_id, self.class_id = owner_id, class_id


for _attr in ("__sharing_type__", "__class_readable__"):
    if hasattr(Activity, _attr):
        setattr(_WriteProbe, _attr, getattr(Activity, _attr))


def event_json(rows: list[Any], show_owner: bool = False) -> list[dict[str, Any]]:
    """FullCalendar event objects of activity rows: events timed (local, keeping their duration), tasks
    all-day, overdue open tasks flagged (colour and label), closed tasks and unwritable rows not draggable
    (`startEditable`; no event is resized: the page turns `eventDurationEditable` off for all)."""
    viewer = current_viewer()
    day = today()
    zone = ZoneInfo(str(get_timezone()))
    closed = set(activity_services.closed_statuses())
    overdue_label, done_label = _("Overdue"), _("Done")
    detail = url_for("activities.detail", record_id=0)[:-1]
    writable: dict[tuple[int, int | None], bool] = {}  # can_write per (owner, class): a handful per page
    out = []
    # Plain tuple unpacking: attribute access on thousands of result rows showed in the month's profile.
    for (id_, kind, subject, owner_id, class_id, version, due_date, status, start_at, end_at, owner_name) in rows:
        title = f"{subject} · {owner_name}" if show_owner else subject
        key = (owner_id, class_id)
        can = writable.get(key)
        if can is None:
            can = writable[key] = can_write(_WriteProbe(owner_id, class_id), viewer)  # type: ignore[arg-type]
        if kind == TASK:
            is_closed = status in closed
            overdue = not is_closed and due_date is not None and due_date < day
            if overdue:
                title, classes = f"{overdue_label}: {title}", ["cal-task", "cal-overdue"]
            elif is_closed:
                title, classes = f"{done_label}: {title}", ["cal-task", "cal-closed"]
            else:
                classes = ["cal-task"]
            out.append({"id": str(id_), "title": title, "url": f"{detail}{id_}", "classNames": classes,
                        "start": due_date.isoformat() if due_date else None, "allDay": True,
                        "startEditable": can and not is_closed,
                        "extendedProps": {"kind": kind, "version": version, "overdue": overdue, "closed": is_closed}})
        else:
            start = start_at.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None) if start_at else None
            end = end_at.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None) if end_at else start
            out.append({"id": str(id_), "title": title, "url": f"{detail}{id_}", "classNames": ["cal-event"],
                        "start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
                        "allDay": False, "startEditable": can,
                        "extendedProps": {"kind": kind, "version": version}})
    return out


def events_for(who: Who, first: datetime, last: datetime) -> list[dict[str, Any]]:
    """The calendar's events of a range for the chosen calendar, as FullCalendar JSON objects."""
    return event_json(list(db.session.execute(range_query(who, first, last))), show_owner=who.key != ME)


def _moved_data(obj: Activity, new_start: datetime) -> dict[str, Any]:
    """The activity's form fields with its new date (task) or start and end (event, same duration)."""
    data = {name: getattr(obj, name) for name in FORM_FIELDS}
    if obj.kind == TASK:
        data["due_date"] = new_start.date()
    else:
        start_utc = _utc(new_start)
        duration = (obj.end_at - obj.start_at) if obj.end_at and obj.start_at else timedelta(0)
        data["start_at"], data["end_at"] = start_utc, start_utc + duration
    return data


def parse_new_start(obj: Activity, raw: Any) -> datetime:
    """The local start a drag asks for: a day (a task; an event keeps its time of day) or a day and time."""
    if not isinstance(raw, str) or not raw.strip():
        raise CalendarInputError(_("Give the new date."), "start")
    moment = parse_moment(raw, "start")
    if obj.kind == EVENT and len(raw.strip()) == 10 and obj.start_at is not None:
        moment = datetime.combine(moment.date(), _local(obj.start_at).time())
    return moment


def move_activity(obj: Activity, new_start: datetime, expected_version: int | None) -> Activity:
    """Reschedule by drag: a task's due date moves, an event keeps its duration. An ordinary, logged
    `activity.update` through the activities update service, with its version check; closed tasks stay put."""
    if obj.kind == TASK and not activity_services.is_open_task(obj):
        raise ServiceError(_("This task is completed; reopen it before moving it."), "start")
    return activity_services.update_activity(obj, _moved_data(obj, new_start), expected_version=expected_version)


# ---- the iCalendar feed ----------------------------------------------------------------------------

def token_hash(token: str) -> str:
    """The SHA-256 of a feed token (the only form the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def active_feed(user_id: int) -> CalendarFeed | None:
    """The user's unrevoked feed, if any."""
    return db.session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == user_id,
                                                         CalendarFeed.revoked_at.is_(None))
                              .order_by(CalendarFeed.id.desc())).first()


def _acting_user() -> Any:
    actor = current_actor()
    if actor is None:
        raise ServiceError(_("Nobody is signed in to do this."))
    return actor


@operation("calendar_feed.create")
def create_feed() -> str:
    """A new feed token for the acting user (any earlier one is revoked); returns the token, shown once."""
    actor = _acting_user()
    for old in db.session.scalars(select(CalendarFeed).where(CalendarFeed.user_id == actor.id,
                                                             CalendarFeed.revoked_at.is_(None))):
        old.revoked_at = utcnow()
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=actor.id, token_hash=token_hash(token))
    db.session.add(feed)
    current_op().target(feed)
    return token


@operation("calendar_feed.revoke")
def revoke_feed() -> CalendarFeed:
    """Revoke the acting user's feed: its address answers 404 from now on."""
    actor = _acting_user()
    feed = active_feed(actor.id)
    if feed is None:
        raise ServiceError(_("You have no calendar feed to revoke."))
    feed.revoked_at = utcnow()
    current_op().target(feed)
    return feed


def feed_owner(token: str) -> User | None:
    """The user of a valid, unrevoked token (None: unknown, malformed or revoked)."""
    if not token or len(token) > 100:
        return None
    feed = db.session.scalars(select(CalendarFeed).where(CalendarFeed.token_hash == token_hash(token),
                                                         CalendarFeed.revoked_at.is_(None))).first()
    return db.session.get(User, feed.user_id) if feed is not None else None


FEED_PAST_DAYS, FEED_FUTURE_DAYS = 90, 365


def feed_activities(user: User) -> list[Activity]:
    """The user's own activities the feed carries: from 90 days back to a year ahead, at most 2,000.

    The caller has set the user as the viewer, so the visibility rule applies as on their pages."""
    now = utcnow()
    first, last = now - timedelta(days=FEED_PAST_DAYS), now + timedelta(days=FEED_FUTURE_DAYS)
    stmt = (select(Activity).where(Activity.owner_id == user.id, Activity.deleted_at.is_(None), or_(
        and_(Activity.kind == EVENT, Activity.start_at >= first, Activity.start_at < last),
        and_(Activity.kind == TASK, Activity.due_date >= first.date(), Activity.due_date < last.date())))
        .order_by(Activity.id).limit(2000))
    return list(db.session.scalars(stmt))


def ics_bytes(user: User, rows: list[Activity], host: str) -> bytes:
    """The iCalendar text: a VEVENT per event (UTC times with Z), a VTODO per task (its due day)."""
    from icalendar import Calendar, Event, Todo

    cal = Calendar()
    cal.add("prodid", "-//CRM Practice Sandbox//calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", _("%(name)s's activities", name=user.display_name))
    closed = set(activity_services.closed_statuses())
    stamp = utcnow().replace(tzinfo=UTC)
    for a in rows:
        item = Todo() if a.kind == TASK else Event()
        item.add("uid", f"activity-{a.id}@{host}")
        item.add("dtstamp", stamp)
        item.add("summary", a.subject)
        if a.description:
            item.add("description", a.description)
        if a.kind == TASK:
            if a.due_date:
                item.add("due", a.due_date)
            item.add("status", "COMPLETED" if a.status in closed else "NEEDS-ACTION")
        else:
            start = a.start_at.replace(tzinfo=UTC)
            item.add("dtstart", start)
            item.add("dtend", (a.end_at or a.start_at).replace(tzinfo=UTC))
            if a.location:
                item.add("location", a.location)
        if a.updated_at:
            item.add("last-modified", a.updated_at.replace(tzinfo=UTC))
        cal.add_component(item)
    return cal.to_ical()


register_verbs({
    "calendar_feed.create": N_("created a calendar feed address"),
    "calendar_feed.revoke": N_("revoked a calendar feed address"),
})
