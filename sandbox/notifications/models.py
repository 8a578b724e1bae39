"""The in-app notification: one message for one user, rendered in the reader's language when read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class Notification(db.Model):
    """What happened (a kind and its params, never rendered text), about which record, for whom; read or not.

    `key` makes a notification that jobs may raise again (a task overdue, a deadline near) appear once.
    """

    __tablename__ = "notifications"
    __audit_type__ = "notification"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notifications_key"),
        Index("ix_notifications_user_unread", "user_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    class_id: Mapped[int | None] = mapped_column()
    kind: Mapped[str] = mapped_column(String(40))
    record_type: Mapped[str | None] = mapped_column(String(32))
    record_id: Mapped[int | None] = mapped_column()
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    key: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]

    @property
    def audit_label(self) -> str:
        """What the log names."""
        return f"{self.kind} {self.id}"
