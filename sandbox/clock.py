"""The one "now" and "today" of the application: stored times are naive UTC, days are local days."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask_babel import to_user_timezone


def utcnow() -> datetime:
    """Now in UTC, naive (how every timestamp column stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


def today() -> date:
    """Today in the configured time zone (due and close dates are calendar days as users see them)."""
    return to_user_timezone(utcnow()).date()
