"""Raising notifications: called by other features' services, inside their operation (same transaction).

A notification stores its kind and params, never text: the inbox renders it in the reader's language.
Kinds are registered with a summary template (`register_kinds`), like log verbs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from ..extensions import db
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
    return added
