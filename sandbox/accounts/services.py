"""Account services: the generic ones, plus the checks an account needs (parent, duplicates)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..extensions import db
from ..i18n import N_
from ..oplog import register_verbs
from ..records.display import like_pattern
from ..records.lookups import visible_or_none
from ..records.services import RecordError, create_record, update_record
from .models import Account


def _clean(data: dict[str, Any], current: Account | None = None) -> dict[str, Any]:
    parent_id = data.get("parent_id") or None
    if parent_id:
        parent = visible_or_none(Account, parent_id)
        if parent is None:
            raise RecordError(_("Choose a parent account you can see."), "parent_id")
        seen, node = set(), parent
        while node is not None and node.id not in seen:  # no cycles: an account cannot be its own ancestor
            if current is not None and node.id == current.id:
                raise RecordError(_("An account cannot be placed under itself or its own subsidiary."), "parent_id")
            seen.add(node.id)
            node = visible_or_none(Account, node.parent_id)
    if data.get("tags"):
        data["tags"] = ", ".join(dict.fromkeys(t.strip() for t in data["tags"].replace("，", ",").split(",") if t.strip()))
    return {**data, "parent_id": parent_id}


def create_account(cls: type, data: dict[str, Any], owner: Any = None) -> Account:
    """Create an account after checking its parent and tidying its tags."""
    return create_record(Account, _clean(data), owner)


def update_account(obj: Account, data: dict[str, Any], expected_version: int | None = None) -> Account:
    """Edit an account after checking its parent (no cycles) and tidying its tags."""
    return update_record(obj, _clean(data, obj), expected_version=expected_version)


def similar_accounts(name: str, exclude_id: int | None = None, limit: int = 5) -> list[Account]:
    """Visible accounts whose name matches, for duplicate warnings and conversion matches."""
    name = (name or "").strip()
    if not name:
        return []
    stmt = select(Account).where(func.lower(Account.name) == name.lower())
    if exclude_id:
        stmt = stmt.where(Account.id != exclude_id)
    found = list(db.session.scalars(stmt.limit(limit)))
    if len(found) < limit and len(name) >= 2:
        more = select(Account).where(Account.name.ilike(like_pattern(name), escape="\\")).limit(limit)
        found += [a for a in db.session.scalars(more) if a not in found and a.id != exclude_id]
    return found[:limit]


register_verbs({
    "account.create": N_("created account %(label)s"),
    "account.update": N_("edited account %(label)s"),
    "account.transfer": N_("transferred account %(label)s from %(old_owner)s to %(new_owner)s"),
    "account.delete": N_("deleted account %(label)s"),
    "account.restore": N_("restored account %(label)s"),
})
