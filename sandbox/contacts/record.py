"""The contact's registry entry: fields, labels, code tables, references, list and services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..accounts.models import Account
from ..records.registry import Column, Filter, RecordType, Related, register
from . import services
from .forms import ContactForm
from .models import Contact


def _duplicates(data: dict, obj: Contact | None = None) -> list[Contact]:
    """Visible contacts with the same email or phone (warned about before creating another)."""
    return services.matching_contacts(data.get("email"), data.get("phone") or data.get("mobile"),
                                      getattr(obj, "id", None))


CONTACT = register(RecordType(
    name="contact", model=Contact, form=ContactForm, singular=_l("Contact"), plural=_l("Contacts"),
    fields=["name", "account_id", "title", "department", "phone", "mobile", "email", "birthday", "address",
            "contact_method", "reports_to_id", "source", "description"],
    codes={"contact_method": "contact_method", "source": "lead_source"},
    references={"account_id": Account, "reports_to_id": Contact},
    search=["name", "email", "phone", "mobile", "title"],
    columns=[Column("name", _l("Name"), link=True), Column("account_id", _l("Account"), sortable=False),
             Column("title", _l("Title")), Column("phone", _l("Phone")), Column("email", _l("Email"))],
    filters=[Filter("contact_method", _l("Preferred contact method"), "contact_method")],
    related=[Related(_l("Direct reports"), Contact, "reports_to_id",
                     [Column("name", _l("Name"), link=True), Column("title", _l("Title"))], "contacts")],
    create=services.create_contact, update=services.update_contact, duplicates=_duplicates,
))
