"""Pickers that offer only what the viewer may see (the query goes through the visibility rule)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db

LIMIT = 500


def visible_choices(model: Any, current_id: int | None = None, blank: bool = True,
                    exclude_id: int | None = None) -> list[tuple[int, str]]:
    """(id, label) of the newest visible records of `model`, keeping the current one."""
    stmt = select(model).order_by(model.created_at.desc(), model.id.desc()).limit(LIMIT)
    rows = list(db.session.scalars(stmt))
    if current_id and all(r.id != current_id for r in rows):
        current = db.session.scalar(select(model).where(model.id == current_id))
        if current is not None:
            rows.append(current)
    result = [(r.id, r.audit_label) for r in rows if r.id != exclude_id]
    result.sort(key=lambda item: item[1])
    if blank:
        result.insert(0, (0, "—"))
    return result


def visible_or_none(model: Any, ident: int | None) -> Any:
    """The record if it exists and the viewer may see it, else None."""
    if not ident:
        return None
    return db.session.scalar(select(model).where(model.id == ident))
