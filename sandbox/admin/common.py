"""Helpers shared by the administration pages."""

from __future__ import annotations

from flask import abort

from ..extensions import db
from ..oplog import current_actor
from ..org.models import Position, User
from ..org.scope import can_manage_user, managed_positions, manages


def as_id(value: int | None) -> int:
    """An id typed into a form or query string, or 0 when it cannot be one (none, negative, beyond the
    database integer): looking it up then finds nothing instead of failing."""
    from ..app_setup import DB_INT_MAX

    return value if value is not None and 0 < value <= DB_INT_MAX else 0


def position_choices(placeable_only: bool = False) -> list[tuple[int, str]]:
    """Positions of the actor's subtree in tree order, each with its path and class, for select fields."""
    nodes = list(db.session.scalars(managed_positions(current_actor())))  # loads every ancestor a label needs
    return [(p.id, p.full_label) for p in nodes if not (placeable_only and p.class_id is None)]


def managed_position_or_404(position_id: int) -> Position:
    """A position of the actor's subtree; one outside it is not found."""
    position = db.session.get(Position, position_id)
    if position is None or not manages(current_actor(), position):
        abort(404)
    return position


def managed_user_or_404(user_id: int) -> User:
    """A user the actor manages; anyone else is not found."""
    user = db.session.get(User, user_id)
    if user is None or not can_manage_user(current_actor(), user):
        abort(404)
    return user
