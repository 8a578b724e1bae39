"""Raising notifications: called by other features' services, inside their operation (same transaction).

A notification stores its kind and params, never text: the inbox renders it in the reader's language.
Kinds are registered with a summary template (`register_kinds`), like log verbs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import abort, g
from sqlalchemy import Select, bindparam, func, select

from ..clock import utcnow
from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from .models import Notification

# kind -> summary template marked with N_ ("%(label)s" and the params' keys are filled when read).
KINDS: dict[str, str] = {}


def register_kinds(kinds: dict[str, str]) -> None:
    """Let a feature declare its notification kinds and their summaries (strings marked with N_)."""
    KINDS.update(kinds)


def notify(user_ids: Iterable[int | None], kind: str, record: Any = None, key: str | None = None,
           **params: Any) -> list[Notification]:
    """Add one notification of `kind` for each distinct user (None ignored) about `record`, in this transaction.

    With `key`, a user who already has a notification with that key gets no second one (jobs that look
    for overdue tasks may run many times). Returns the notifications added.
    """
    ids = sorted({uid for uid in user_ids if uid is not None})
    if not ids:
        return []
    if key is not None:
        taken = set(db.session.scalars(select(Notification.user_id).where(
            Notification.key == key, Notification.user_id.in_(ids))))
        ids = [uid for uid in ids if uid not in taken]
    added = []
    for uid in ids:
        note = Notification(
            user_id=uid, kind=kind, key=key, params=params or None,
            record_type=getattr(type(record), "__audit_type__", None) if record is not None else None,
            record_id=getattr(record, "id", None), class_id=getattr(record, "class_id", None),
        )
        if record is not None and "label" not in params:
            note.params = {**(note.params or {}), "label": getattr(record, "audit_label", None)}
        db.session.add(note)
        added.append(note)
    from .mail import queue  # mail reads the renderer, which imports this module

    queue(added)
    return added


# ---- reading the inbox ---------------------------------------------------------------------------------------

# The hidden row that remembers when the due events were last looked for, per user (see jobs.py): always
# read, so the unread badge never counts it, and never listed in the inbox.
SCAN_KIND = "notifications.scanned"
SCAN_KEY = "scanned"


def inbox_query(user_id: int) -> Select[tuple[Notification]]:
    """The user's notifications, newest first (the scan marker left out)."""
    return (select(Notification)
            .where(Notification.user_id == user_id, Notification.kind != SCAN_KIND)
            .order_by(Notification.id.desc()))


def unread_count(user_id: int) -> int:
    """How many unread notifications the user has (the badge), one indexed count."""
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def _badge_statement() -> Select[Any]:
    reader = bindparam("reader")
    unread = select(func.count()).select_from(Notification).where(
        Notification.user_id == reader, Notification.read_at.is_(None)).scalar_subquery()
    scanned = select(Notification.read_at).where(
        Notification.user_id == reader, Notification.key == SCAN_KEY).limit(1).scalar_subquery()
    return select(unread, scanned)


# Built once: every page runs it, and building the statement cost more than running it (SQLAlchemy also
# remembers the cache key of a statement object, so the compiled SQL is found at once).
_BADGE = _badge_statement()


def badge_state(user_id: int) -> tuple[int, datetime | None]:
    """(unread count, time of the last scan for due events) in ONE query of two indexed lookups.

    The navigation shows the count on every page, and the lazy scan asks whether it is due; both read the
    notifications table by (user_id, read_at) and (user_id, key), so they share one round trip.
    """
    # A notification is no business record (no record rule to add): a page reads it on the session's
    # connection, in its transaction, without the ORM's per-statement work. Unflushed changes (only a write
    # request that renders a page could have them) go the ORM way, which flushes them first.
    read = g.pop("_badge_read", None)  # by first_reads with the page's other first reads, used once
    if read is not None and read[0] == user_id:
        return read[1], read[2]
    session = db.session
    run = session.execute if session.new or session.dirty or session.deleted else session.connection().execute
    row = run(_BADGE, {"reader": user_id}).one()
    return int(row[0] or 0), row[1]


def badge_columns() -> list[Any]:
    """badge_state's two columns (of first_reads' statement; the reader is the parameter `reader`)."""
    return list(_BADGE.selected_columns)


def use_badge(user_id: int, unread: int | None, scanned: datetime | None) -> None:
    """Take the badge first_reads read for `user_id` as the answer of this request's first badge_state."""
    g._badge_read = (user_id, int(unread or 0), scanned)


def own_notification(user_id: int, notification_id: int) -> Notification:
    """The reader's own notification by id; anyone else's looks missing."""
    note = db.session.scalar(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user_id, Notification.kind != SCAN_KIND))
    if note is None:
        abort(404)
    return note


@operation("notification.read")
def mark_read(user_id: int, notification_id: int) -> Notification:
    """Mark one of the user's notifications read (a second call changes nothing)."""
    note = own_notification(user_id, notification_id)
    if note.read_at is None:
        note.read_at = utcnow()
    current_op().target(note)
    return note


@operation("notification.read_all")
def mark_all_read(user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many."""
    now = utcnow()
    notes = list(db.session.scalars(select(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))))
    for note in notes:
        note.read_at = now
    current_op().target(None, count=len(notes))
    return len(notes)


register_verbs({
    "notification.read": N_("read a notification"),
    "notification.read_all": N_("marked %(count)s notification(s) read"),
    "notification.scan": N_("looked for overdue tasks and near deadlines"),
    "notification.email": N_("emailed %(count)s notification(s)"),
})
