"""List filters every record type shares: owner (me or anyone whose records the viewer reads) and created-date range."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import g
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..access import Viewer, current_viewer, owner_candidates, owners_among
from ..errors import ServiceError
from ..extensions import db
from ..kept_identity import kept_for_org
from ..numbers import DB_INT_MAX
from ..org.models import Status, User


def _day(raw: str) -> datetime | None:
    try:
        return datetime.strptime(raw.strip(), "%Y-%m-%d")
    except ValueError:
        return None


def _utc(local_midnight: datetime) -> datetime:
    """A local calendar day's start as the naive UTC time the database stores."""
    return local_midnight.replace(tzinfo=get_timezone()).astimezone(UTC).replace(tzinfo=None)


def problems() -> list[str]:
    """Warnings about filter values that were ignored (shown above the list)."""
    return g.setdefault("list_problems", [])


def notes() -> list[str]:
    """What a list narrowed by a drill-down shows, in words (shown above the list)."""
    return g.setdefault("list_notes", [])


# Other modules' filters a list honours (the reports' drill-down): (model, args) -> (conditions, note).
_SOURCES: list[Callable[[Any, Any], tuple[list[Any], str | None]]] = []


def add_source(source: Callable[[Any, Any], tuple[list[Any], str | None]]) -> None:
    """Let every record list honour `source`'s filters (a report's drill-down registers here)."""
    if source not in _SOURCES:
        _SOURCES.append(source)


def _warn(message: str) -> None:
    if message not in problems():
        problems().append(message)


def conditions(model: Any, args: Any) -> list[Any]:
    """WHERE conditions for owner and created_from/created_to; bad values are reported and ignored."""
    where: list[Any] = []
    owner = (args.get("owner") or "").strip()
    if owner == "me" and current_user.is_authenticated:
        where.append(model.owner_id == current_user.id)
    elif owner.isdigit() and int(owner) <= DB_INT_MAX:
        # Any id is accepted: the visibility rule still applies, so a foreign owner simply lists nothing.
        where.append(model.owner_id == int(owner))
    elif owner:
        _warn(_("Unknown owner “%(v)s” was ignored.", v=owner[:40]))
    days = {}
    for key in ("created_from", "created_to"):
        raw = (args.get(key) or "").strip()
        if not raw:
            continue
        day = _day(raw)
        if day is None:
            _warn(_("Dates are written YYYY-MM-DD; “%(v)s” was ignored.", v=raw[:40]))
            continue
        days[key] = day
    if "created_from" in days:
        where.append(model.created_at >= _utc(days["created_from"]))
    if "created_to" in days:
        where.append(model.created_at < _utc(days["created_to"] + timedelta(days=1)))
    if len(days) == 2 and days["created_from"] > days["created_to"]:
        _warn(_("The “from” date is after the “to” date, so nothing matches."))
    for source in _SOURCES:
        try:
            extra, note = source(model, args)
        except ServiceError as refused:
            _warn(refused.message)
            continue
        where += extra
        if note and note not in notes():
            notes().append(note)
    return where


def _owners(model: Any) -> tuple[tuple[int, str, str], ...]:
    """(id, display name, username) of the people whose `model` records the viewer may read: the members of the
    classes the viewer reads whole and the further users it reads by owner (`access.owner_candidates`), with
    pending and rejected accounts left out (they own nothing). Read from the organisation only, so a worker
    keeps them while it is unchanged."""
    cache = g.setdefault("list_owners", {})
    if model in cache:
        return cache[model]
    viewer = current_viewer()
    if not isinstance(viewer, Viewer):
        return ()
    candidates = owner_candidates(model, viewer)

    def read() -> tuple[tuple[int, str, str], ...]:
        stmt = _PEOPLE.where(owners_among(candidates))
        return tuple((uid, name, username) for uid, name, username in db.session.execute(stmt))

    cache[model] = kept_for_org(("owner filter", candidates), read)
    return cache[model]


# Three columns, not User entities: building up to 500 ORM objects per list page cost more than the query.
_PEOPLE = (select(User.id, User.display_name, User.username)
           .where(User.status.not_in([Status.PENDING, Status.REJECTED]))
           .order_by(User.display_name, User.id).limit(500))


def owner_choices(model: Any) -> list[tuple[str, str]]:
    """The owner filter's choices: the people whose `model` records the viewer may read (the first 500 by name).
    Everyone in a class a teacher reads, not only who owns a record yet: a student with none is a choice
    whose empty list says so, and the choices need no query on the records."""
    return [(str(uid), f"{name} ({username})") for uid, name, username in _owners(model)]


def owner_names(model: Any) -> dict[int, str]:
    """The display names of the owner filter's users by id (the list shows its rows' owners from them)."""
    return {uid: name for uid, name, _username in _owners(model)}
