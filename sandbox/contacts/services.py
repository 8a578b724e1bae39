"""Contact services: generic create/update with account and reports-to checked through visibility."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ..accounts.models import Account
from ..extensions import db
from ..i18n import N_
from ..oplog import register_verbs
from ..records.lookups import visible_or_none
from ..records.services import RecordError, create_record, update_record
from .models import Contact


def _clean(data: dict[str, Any], current: Contact | None = None) -> dict[str, Any]:
    data = {**data, "account_id": data.get("account_id") or None, "reports_to_id": data.get("reports_to_id") or None}
    if data["account_id"] and visible_or_none(Account, data["account_id"]) is None:
        raise RecordError(_("Choose an account you can see."), "account_id")
    if data["reports_to_id"]:
        if current is not None and data["reports_to_id"] == current.id:
            raise RecordError(_("A contact cannot report to themselves."), "reports_to_id")
        if visible_or_none(Contact, data["reports_to_id"]) is None:
            raise RecordError(_("Choose a contact you can see."), "reports_to_id")
    if data.get("email"):
        data["email"] = data["email"].lower()
    return data


def create_contact(cls: type, data: dict[str, Any], owner: Any = None) -> Contact:
    """Create a contact after checking its account and manager."""
    return create_record(Contact, _clean(data), owner)


def update_contact(obj: Contact, data: dict[str, Any], expected_version: int | None = None) -> Contact:
    """Edit a contact after checking its account and manager."""
    return update_record(obj, _clean(data, obj), expected_version=expected_version)


def matching_contacts(email: str | None, phone: str | None, exclude_id: int | None = None) -> list[Contact]:
    """Visible contacts with the same email or phone (duplicate warnings, lead conversion)."""
    terms = []
    if email:
        terms.append(func.lower(Contact.email) == email.strip().lower())
    if phone:
        terms += [Contact.phone == phone.strip(), Contact.mobile == phone.strip()]
    if not terms:
        return []
    stmt = select(Contact).where(or_(*terms))
    if exclude_id:
        stmt = stmt.where(Contact.id != exclude_id)
    return list(db.session.scalars(stmt.limit(5)))


register_verbs({
    "contact.create": N_("created contact %(label)s"),
    "contact.update": N_("edited contact %(label)s"),
    "contact.transfer": N_("transferred contact %(label)s from %(old_owner)s to %(new_owner)s"),
    "contact.delete": N_("deleted contact %(label)s"),
    "contact.restore": N_("restored contact %(label)s"),
})
