"""Remembered column choices of the import mapping step: per user, record type and header."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from .import_columns import Column, default_target, key
from .models import ImportMapping

register_verbs({"import.columns": N_("remembered the import columns of %(type)s")})


def remembered(user_id: int, record_type: str) -> dict[str, str]:
    """Normalised header -> target this user chose before for this record type."""
    rows = db.session.execute(select(ImportMapping.header, ImportMapping.target).where(
        ImportMapping.user_id == user_id, ImportMapping.record_type == record_type))
    return {header: target for header, target in rows}


@operation("import.columns")
def remember_columns(user: Any, v: Any, columns: list[Column], exact: dict[str, str]) -> int:
    """Keep the user's choices that differ from what the header means anyway; forget the others.

    Returns how many choices are kept for this file's headers.
    """
    record_type = v.model.__audit_type__
    existing = {m.header: m for m in db.session.scalars(select(ImportMapping).where(
        ImportMapping.user_id == user.id, ImportMapping.record_type == record_type))}
    kept: dict[str, str] = {}
    for column in columns:
        k = key(column.header)[:200]
        if not k or column.target is None:
            continue
        row = existing.get(k)
        if column.target == default_target(v, column.header, exact):
            if row is not None:
                db.session.delete(row)
                existing.pop(k)
            continue
        kept[column.header] = column.target
        if row is None:
            existing[k] = ImportMapping(user_id=user.id, record_type=record_type, header=k, target=column.target)
            db.session.add(existing[k])
        else:
            row.target = column.target
    db.session.flush()
    op = current_op()
    op.target(user)
    # Log params are scalars: the choices as one readable "Header=field; …" text.
    op.params.update(type=str(v.plural), columns="; ".join(f"{h}={t}" for h, t in kept.items()))
    return len(kept)
