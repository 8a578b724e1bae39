"""The numbers nearly every page reads first, in one statement instead of three.

A signed-in GET reads the organisation's version (the kept user and viewer, kept_identity), the picklists'
stamp (the kept code tables, codes.services) and the notification badge (the navigation, notifications). Each was
its own round trip to the database, and on PostgreSQL a round trip costs both processes CPU and, under load,
waiting for a turn on the cores: a page sent about a dozen. Read-only requests read all three at once, first
thing; each module takes its value as if it had read it itself. Write requests read each when they need it (the
picklists' stamp is read afresh in their transaction, codes.services.kept_for_write).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import select

from . import kept_identity
from .boundary import SAFE_METHODS
from .codes import services as codes
from .extensions import db
from .notifications import services as notifications


@cache
def _statement() -> tuple[Any, int]:
    """The one statement (built on first use, from the three modules' own) and where its badge columns start:
    the row is the version, the stamp's columns, the badge's two."""
    stamp = codes.stamp_columns()
    return select(kept_identity.version_column(), *stamp, *notifications.badge_columns()), 1 + len(stamp)


def read_for(user_id: int) -> None:
    """In a read-only request, read the three values for the signed-in `user_id` in one statement and hand each
    to its module; elsewhere do nothing (each is read when needed)."""
    if not has_request_context() or request.method not in SAFE_METHODS or "_org_version" in g:
        return  # (the version read once per request: whatever was kept under it stays right)
    statement, badge_at = _statement()
    row = db.session.connection().execute(statement, {"reader": user_id}).one()
    kept_identity.use_version(row[0])
    codes.use_stamp(tuple(row[1:badge_at]))
    notifications.use_badge(user_id, *row[badge_at:])
