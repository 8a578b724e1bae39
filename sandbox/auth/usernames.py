"""The one normalisation of usernames, used by sign-in, the throttle, registration and every lookup."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func

from ..org.models import User


def normalize_username(raw: str | None) -> str:
    """Strip and lower-case: "StudentA " and "studenta" are one account, one lockout, one registration.

    Usernames are ASCII (letters, digits, . _ -), so Python's lower() and the databases' lower() agree;
    the unique index `uq_users_username_lower` (migration 0015) holds the same rule in the database.
    """
    return (raw or "").strip().lower()


def username_is(raw: str | None) -> ColumnElement[bool]:
    """SQL: the user whose username normalises like `raw` (served by the unique index on lower(username))."""
    return func.lower(User.username) == normalize_username(raw)
