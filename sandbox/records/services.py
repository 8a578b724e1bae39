"""Generic record services: create, update (version-checked), transfer, delete, restore.

Each record type's own services call these, so soft delete, the recycle bin, transfer and the log
are written once for all types.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..access import assignable_users_query, can_write, current_viewer
from ..clock import utcnow
from ..errors import Conflict, NotAllowed, ServiceError
from ..extensions import db
from ..i18n import N_
from ..numbers import DB_INT_MAX
from ..oplog import current_actor, current_op, operation, register_verbs
from ..org.models import User
from ..owned import Owned

# Record services refuse with the one family of errors (errors.py); the old names stay for readers.
RecordError = ServiceError
__all__ = ["NotAllowed", "RecordError", "VersionConflict"]


class VersionConflict(Conflict):
    """Someone saved the record after this user opened it."""


def _verb(action: str) -> Any:
    """The log verb of a generic service for the type of its first argument ("lead.create")."""
    return lambda cls_or_obj, *a, **k: f"{_type(cls_or_obj)}.{action}"


def _type(cls_or_obj: Any) -> str:
    """The type name of a record or record class."""
    cls = cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)
    return cls.__audit_type__


def _check_write(obj: Owned) -> None:
    """Refuse a change the viewer may not make, or to a read-only record (a converted lead)."""
    if not can_write(obj, current_viewer()):
        raise NotAllowed(_type(obj))
    if getattr(obj, "is_read_only", False):
        raise RecordError(_("This record is read-only (a converted lead keeps its history but no longer changes)."))


def acting_user() -> User:
    """Who acts (oplog.current_actor); NotAllowed when nobody does (the system never creates records here)."""
    user = current_actor()
    if user is None:
        raise NotAllowed("no acting user")
    return user




@operation(_verb("create"))
def create_record(cls: type, data: dict[str, Any], owner: User | None = None, after: Any = None) -> Any:
    """Create a record owned by `owner` (default: the acting user) in the owner's class.

    `after(obj)` runs inside the same operation once the record has its id (child rows, history).
    """
    actor = acting_user()
    if not actor.can_change:
        raise NotAllowed("read-only")
    owner = owner or actor
    obj = cls(**data, owner_id=owner.id, class_id=owner.class_id, created_by_id=actor.id)
    db.session.add(obj)
    current_op().target(obj)
    if after is not None:
        db.session.flush()
        after(obj)
    return obj


@operation(_verb("update"))
def update_record(obj: Owned, data: dict[str, Any], expected_version: int | None = None) -> Any:
    """Apply field values; refuse when the record changed since the user loaded it."""
    _check_write(obj)
    if obj.is_deleted:
        raise RecordError(_("This record is in the recycle bin; restore it before editing."))
    if expected_version is not None and obj.version != expected_version:
        raise VersionConflict(
            _("Someone else saved this record after you opened it. Reload it to see their changes.")
        )
    for key, value in data.items():
        setattr(obj, key, value)
    current_op().target(obj)
    return obj


@operation(_verb("transfer"))
def transfer_record(obj: Owned, new_owner_id: int) -> Any:
    """Give the record to another active user of its class."""
    _check_write(obj)
    # A forged id beyond any database integer finds nobody (instead of failing in the database).
    target = db.session.scalars(
        assignable_users_query(obj.class_id).where(User.id == new_owner_id)
    ).first() if 0 < new_owner_id <= DB_INT_MAX else None
    if target is None:
        raise RecordError(_("Choose an active user of this record's class."), field="owner_id")
    if target.id == obj.owner_id:
        raise RecordError(_("The record already belongs to %(name)s.", name=target.display_name), "owner_id")
    before = obj.owner.display_name
    obj.owner_id = target.id
    current_op().target(obj, old_owner=before, new_owner=target.display_name)
    from ..notifications.services import notify  # at call time: the notifications package imports the records

    by = current_actor()
    if by is None or by.id != target.id:
        notify([target.id], "record.transferred", record=obj, type=obj.__audit_type__,
               by=getattr(by, "display_name", None) or before)
    return obj


@operation(_verb("delete"))
def delete_record(obj: Owned) -> Any:
    """Move the record to the recycle bin (restorable by its owner or an instructor)."""
    _check_write(obj)
    if obj.is_deleted:
        raise RecordError(_("This record is already in the recycle bin."))
    obj.deleted_at = utcnow()
    current_op().target(obj)
    return obj


@operation(_verb("restore"))
def restore_record(obj: Owned) -> Any:
    """Take the record out of the recycle bin."""
    _check_write(obj)
    if not obj.is_deleted:
        raise RecordError(_("This record is not in the recycle bin."))
    obj.deleted_at = None
    current_op().target(obj)
    return obj


def assignable_users(obj: Owned) -> list[User]:
    """Transfer targets for a record, for the picker."""
    return list(db.session.scalars(assignable_users_query(obj.class_id)))


def owner_exists(user_id: int) -> bool:
    """Whether a user with this id exists."""
    return db.session.scalar(select(User.id).where(User.id == user_id)) is not None


register_verbs(
    {
        "lead.create": N_("created lead %(label)s"),
        "lead.update": N_("edited lead %(label)s"),
        "lead.transfer": N_("transferred lead %(label)s from %(old_owner)s to %(new_owner)s"),
        "lead.delete": N_("deleted lead %(label)s"),
        "lead.restore": N_("restored lead %(label)s"),
    }
)
