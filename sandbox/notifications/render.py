"""Notifications as people read them: a kind and its params turned into text in the reader's language, with a link.

A notification stores codes, ids and UTC times, never text (like the operation log), so a student who
switches to English reads yesterday's notifications in English. The link to the record goes through the
visibility rule, for a whole page at once: a record the reader can no longer see (transferred away, another
class's, deleted for good) leaves the text without a link, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from flask import url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..i18n import N_
from ..log.render import TYPES as LOG_TYPES
from ..records import registry
from .models import Notification
from .services import KINDS, register_kinds

# Every kind the app raises and its summary ("%(label)s" and the params' keys; a missing key shows "—").
register_kinds({
    "registration.approved": N_("Your registration was approved: welcome to %(position)s."),
    "registration.rejected": N_("Your registration was rejected: %(reason)s"),
    "record.transferred": N_("%(by)s transferred the %(type)s “%(label)s” to you."),
    "grade.override": N_("%(by)s set your points for objective %(objective)s to %(points)s of %(max)s: "
                         "%(comment)s"),
    "task.overdue": N_("Your task “%(label)s” is overdue (due %(due)s)."),
    "deadline.near": N_("The deadline of scenario %(scenario)s is near: %(deadline)s."),
    # Raised by the cases module (sandbox/cases/), rendered here.
    "case.assigned": N_("The case “%(label)s” was assigned to you."),
    "case.escalated": N_("The case “%(label)s” was escalated."),
    "complaint.level1": N_("Level-1 complaint “%(label)s”: it needs your attention."),
    "case.supervise": N_("The level-%(level)s complaint “%(label)s” awaits your supervision."),
})

# The operation log names the object of notification.read / .scan / .email entries.
LOG_TYPES.setdefault("notification", N_("Notification"))

# Record types as people call them, for "%(type)s" (the audit type is stored).
TYPE_NAMES = {
    "lead": N_("lead"), "account": N_("account"), "contact": N_("contact"), "opportunity": N_("opportunity"),
    "activity": N_("activity"), "competitor": N_("competitor"), "product": N_("product"),
    "campaign": N_("campaign"), "case": N_("case"), "article": N_("article"), "document": N_("document"),
}

# Params holding a UTC time (shown in the configured time zone) or a day.
TIME_PARAMS = {"deadline"}
DATE_PARAMS = {"due"}


class _Params(dict):
    """Params for a summary template: a key the notification lacks shows "—" instead of failing."""

    def __missing__(self, key: str) -> str:
        return "—"


@dataclass
class Rendered:
    """One notification as the inbox shows it."""

    note: Notification
    text: str
    url: str | None

    @property
    def unread(self) -> bool:
        """Whether the reader has not marked it read yet."""
        return self.note.read_at is None


def _value(key: str, value: Any) -> Any:
    """A stored param as the reader reads it (times in the configured zone, days in their format)."""
    if value is None:
        return "—"
    try:
        if key in TIME_PARAMS and isinstance(value, str):
            return format_datetime(datetime.fromisoformat(value).replace(tzinfo=UTC), "short")
        if key in DATE_PARAMS and isinstance(value, str):
            return format_date(date.fromisoformat(value), "medium")
    except ValueError:
        return value  # an unexpected stored shape is shown as stored, never an error
    if key == "type":
        name = TYPE_NAMES.get(str(value))
        return _(name) if name else value
    return value


def text_of(note: Notification) -> str:
    """The notification's sentence in the current language."""
    template = KINDS.get(note.kind)
    params = _Params({k: _value(k, v) for k, v in (note.params or {}).items()})
    if template is None:
        return str(params.get("label") or note.kind)
    try:
        return _(template) % params
    except (TypeError, ValueError):
        return _(template)


def _record_links(notes: list[Notification]) -> dict[tuple[str, int], str]:
    """(record type, id) → URL, for the records among `notes` the reader may open: one query per type."""
    wanted: dict[str, set[int]] = {}
    for note in notes:
        if note.record_type and note.record_id:
            wanted.setdefault(note.record_type, set()).add(note.record_id)
    links: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        entry = registry.find(kind)
        if entry is None:
            continue
        model = entry.model
        # The visibility rule is added to this SELECT like to every list: what the reader cannot see has no link.
        # The record page also opens records in the recycle bin, so they keep their link.
        visible = db.session.scalars(
            select(model.id).where(model.id.in_(sorted(ids))).execution_options(include_deleted=True))
        for ident in visible:
            links[(kind, ident)] = url_for(f"{entry.blueprint}.detail", record_id=ident)
    return links


def _own_link(note: Notification) -> str | None:
    """Links that are not to a business record: a student's grades and deadline are on their progress page."""
    if note.kind in ("grade.override", "deadline.near"):
        return url_for("me.progress")
    if note.kind == "task.overdue" and note.record_type is None:
        return url_for("activities.index", view="overdue")
    return None


def render_all(notes: list[Notification]) -> list[Rendered]:
    """The notifications of one inbox page, rendered with their links (visibility checked in one go per type)."""
    links = _record_links(notes)
    rendered = []
    for note in notes:
        url = links.get((note.record_type or "", note.record_id or 0)) or _own_link(note)
        rendered.append(Rendered(note, text_of(note), url))
    return rendered
