"""Pickers that offer only what the viewer may see (the query goes through the visibility rule)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, inspect, select

from ..access import by_id_select
from ..extensions import db

LIMIT = 500


def visible_choices(model: Any, current_id: int | None = None, blank: bool = True,
                    exclude_id: int | None = None) -> list[tuple[int, str]]:
    """(id, label) of the newest visible records of `model`, keeping the current one.

    Read as plain rows of the model's columns (a column SELECT of the model: the visibility rule applies all
    the same), each labelled by the model's own `audit_label` read off the row: a picker of 500 records built
    500 ORM objects only to read one or two of their columns."""
    label = model.audit_label.fget
    newest, one = _choices_selects(model)
    rows = list(db.session.execute(newest))
    if current_id and all(r.id != current_id for r in rows):
        current = db.session.execute(one, {"ident": current_id}).first()
        if current is not None:
            rows.append(current)
    result = [(r.id, label(r)) for r in rows if r.id != exclude_id]
    result.sort(key=lambda item: item[1])
    if blank:
        result.insert(0, (0, "—"))
    return result


@lru_cache(maxsize=64)
def _choices_selects(model: Any) -> tuple[Any, Any]:
    """visible_choices()'s statements (the newest LIMIT records; one by id, the parameter `ident`), built once per
    model: the session keeps their copies with the rule (access._with_rule)."""
    columns = _label_columns(model)
    return (select(*columns).order_by(model.created_at.desc(), model.id.desc()).limit(LIMIT),
            select(*columns).where(model.id == bindparam("ident")))


def _label_columns(model: Any) -> list[Any]:
    """Every column attribute of a model, under its attribute name (what `audit_label` may read)."""
    found = _COLUMNS.get(model)
    if found is None:
        found = _COLUMNS[model] = [getattr(model, attr.key) for attr in inspect(model).column_attrs]
    return found


_COLUMNS: dict[Any, list[Any]] = {}


def visible_or_none(model: Any, ident: int | None) -> Any:
    """The record if it exists and the viewer may see it, else None."""
    if not ident:
        return None
    return db.session.scalar(by_id_select(model, False, False), {"ident": ident})
