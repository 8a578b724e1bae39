"""Who may see and run the teaching pages of which class (one rule for scenarios, gradebook and activity).

The classes come from the request's `Viewer` (`managed_class_ids`, `readable_class_ids`, computed once
per request in `access.viewer_for`), never recomputed here. Without a viewer for the user nothing is
readable or writable: the door fails closed.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from ..access import Viewer, current_viewer, viewer_for
from ..extensions import db
from ..org.models import Position, PositionKind, Role, User


def _by_name(classes: list[Position]) -> list[Position]:
    # The tree's materialised paths sort "/1/2/10/" before "/1/2/4/"; people look for their class by name.
    return sorted(classes, key=lambda c: (c.name, c.id))


def refuse_students() -> None:
    """Students have no class-wide teaching pages: 403 before any lookup (their page is /me/progress)."""
    if current_user.role == Role.STUDENT:
        abort(403)


def _viewer_of(user: User | None) -> Viewer | None:
    """The request's viewer when it is `user`'s (the usual case), else one built for `user`; None for nobody."""
    user_id = getattr(user, "id", None)
    if user_id is None or not getattr(user, "is_authenticated", True):
        return None
    viewer = current_viewer()
    if isinstance(viewer, Viewer) and viewer.user_id == user_id:
        return viewer
    return viewer_for(user)


def class_ids(user: User | None, write: bool = False) -> frozenset[int]:
    """Ids of the classes `user` may run (write) or read: empty for anonymous or unknown users."""
    viewer = _viewer_of(user)
    if viewer is None:
        return frozenset()
    return viewer.managed_class_ids if write else viewer.readable_class_ids


def _classes(ids: frozenset[int]) -> list[Position]:
    if not ids:
        return []
    return _by_name(list(db.session.scalars(select(Position).where(Position.id.in_(ids)))))


def readable_classes(user: User) -> list[Position]:
    """Classes whose gradebook and activity the user may read: staff their subtree's, an observer their own class."""
    return _classes(class_ids(user))


def writable_classes(user: User) -> list[Position]:
    """Classes the user may load, reset, grade and extend: instructors over them, and admins."""
    return _classes(class_ids(user, write=True))


def class_or_404(class_id: int | None, write: bool = False) -> Position:
    """The class `class_id` if the current user may read it (or run it, with write); else 404 (403 for observers)."""
    ids = class_ids(current_user, write)
    if write and not ids and current_user.role == Role.READONLY:
        abort(403)
    klass = db.session.get(Position, class_id) if class_id in ids else None
    if klass is None:
        abort(404)
    return klass


def default_class(write: bool = False) -> Position | None:
    """The first class the user may read (or run): the page's class when none is asked for."""
    classes = writable_classes(current_user) if write else readable_classes(current_user)
    return classes[0] if classes else None


def student_or_404(student_id: int, klass: Position | None = None, write: bool = False) -> User:
    """A student of a class the current user may read (or grade); 404 otherwise."""
    student = db.session.get(User, student_id)
    if student is None or student.role != Role.STUDENT or student.class_id is None:
        abort(404)
    if klass is not None and student.class_id != klass.id:
        abort(404)
    class_or_404(student.class_id, write=write)
    return student


def is_class(position: Position | None) -> bool:
    """Whether the position is a class node."""
    return position is not None and position.kind == PositionKind.CLASS
