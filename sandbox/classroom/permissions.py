"""Who may see and run the teaching pages of which class (one rule for scenarios, gradebook and activity)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..org.models import Position, PositionKind, Role, User
from ..org.scope import managed_classes


def _by_name(classes: list[Position]) -> list[Position]:
    # The tree's materialised paths sort "/1/2/10/" before "/1/2/4/"; people look for their class by name.
    return sorted(classes, key=lambda c: (c.name, c.id))


def refuse_students() -> None:
    """Students have no class-wide teaching pages: 403 before any lookup (their page is /me/progress)."""
    if current_user.role == Role.STUDENT:
        abort(403)


def readable_classes(user: User) -> list[Position]:
    """Classes whose gradebook and activity the user may read: staff their subtree's, an observer their own class."""
    if user.role in (Role.ADMIN, Role.INSTRUCTOR):
        return _by_name(managed_classes(user))
    if user.role == Role.READONLY and user.class_id is not None:
        return list(db.session.scalars(select(Position).where(Position.id == user.class_id)))
    return []


def writable_classes(user: User) -> list[Position]:
    """Classes the user may load, reset, grade and extend: instructors over them, and admins."""
    return _by_name(managed_classes(user)) if user.role in (Role.ADMIN, Role.INSTRUCTOR) else []


def class_or_404(class_id: int | None, write: bool = False) -> Position:
    """The class `class_id` if the current user may read it (or run it, with write); else 404 (403 for observers)."""
    classes = writable_classes(current_user) if write else readable_classes(current_user)
    if write and not classes and current_user.role == Role.READONLY:
        abort(403)
    for klass in classes:
        if klass.id == class_id:
            return klass
    abort(404)


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
    return position is not None and position.kind == PositionKind.CLASS
