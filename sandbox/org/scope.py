"""Which part of the position tree a staff member manages (their own subtree; admins: all).

The classes a staff member runs are the request's `Viewer.managed_class_ids` (access.py, computed once per
request); only an actor who is not the current viewer (a CLI command, a test) has them computed here.
"""

from __future__ import annotations

from sqlalchemy import Select, select

from ..extensions import db
from .models import Position, PositionKind, Role, User


def manages(actor: User, position: Position | None, strictly: bool = False) -> bool:
    """True when `position` lies in the actor's subtree (strictly below it, if asked)."""
    if position is None or actor.role not in (Role.ADMIN, Role.INSTRUCTOR):
        return False
    if actor.role == Role.ADMIN:
        return not (strictly and position.parent_id is None)
    own = actor.position
    if own is None or not position.path.startswith(own.path):
        return False
    return not (strictly and position.id == own.id)


def managed_positions(actor: User) -> Select:
    """All positions of the actor's subtree, in tree order."""
    stmt = select(Position).order_by(Position.path)
    if actor.role == Role.ADMIN:
        return stmt
    own = actor.position
    if own is None or actor.role != Role.INSTRUCTOR:
        return stmt.where(Position.id == -1)
    return stmt.where(Position.path.startswith(own.path))


def managed_class_ids(actor: User) -> frozenset[int]:
    """Ids of the classes the actor runs: the current viewer's (computed once per request) when it is them."""
    from ..access import Viewer, current_viewer  # access builds on these models: import when used

    viewer = current_viewer()
    if isinstance(viewer, Viewer) and viewer.user_id == actor.id and viewer.role == actor.role:
        return viewer.managed_class_ids
    return frozenset(p.id for p in db.session.scalars(managed_positions(actor)) if p.kind == PositionKind.CLASS)


def managed_classes(actor: User) -> list[Position]:
    """The classes the actor runs, in tree order."""
    ids = managed_class_ids(actor)
    if not ids:
        return []
    return list(db.session.scalars(select(Position).where(Position.id.in_(sorted(ids))).order_by(Position.path)))


def managed_users(actor: User) -> Select:
    """Users the actor manages: everyone for admins; for instructors, users in or asking for their classes."""
    stmt = select(User).order_by(User.display_name)
    if actor.role == Role.ADMIN:
        return stmt
    if actor.position is None:
        return stmt.where(User.id == -1)
    below = select(Position.id).where(Position.path.startswith(actor.position.path))
    return stmt.where(
        User.id != actor.id,
        User.role != Role.ADMIN,
        (User.class_id.in_(sorted(managed_class_ids(actor)))) | (User.position_id.in_(below)),
    )


def can_manage_user(actor: User, user: User) -> bool:
    """Whether the actor manages this user (see `managed_users`)."""
    return db.session.scalar(managed_users(actor).where(User.id == user.id)) is not None
