"""The calendar feed token: one revocable secret per user for their iCalendar (.ics) feed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class CalendarFeed(db.Model):
    """A feed token: only its SHA-256 is stored, so the database never holds a usable feed address."""

    __tablename__ = "calendar_feeds"
    __audit_type__ = "calendar_feed"
    # The hash is no secret to guess from, but the log has no use for it either.
    __audit_hidden__ = frozenset({"token_hash"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    @property
    def audit_label(self) -> str:
        """What the log names."""
        return f"calendar feed {self.id}"
