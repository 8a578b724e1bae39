"""Contact pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..accounts.models import Account
from ..records.views import Column, Filter, RecordViews, Related
from . import bp, services
from .forms import ContactForm
from .models import Contact

FIELDS = ["name", "account_id", "title", "department", "phone", "mobile", "email", "birthday", "address",
          "contact_method", "reports_to_id", "source", "description"]

views = RecordViews(
    bp, Contact, ContactForm,
    singular=_l("Contact"), plural=_l("Contacts"),
    columns=[
        Column("name", _l("Name"), link=True),
        Column("account_id", _l("Account"), sortable=False),
        Column("title", _l("Title")),
        Column("phone", _l("Phone")),
        Column("email", _l("Email")),
    ],
    filters=[Filter("contact_method", _l("Preferred contact method"), "contact_method")],
    codes={"contact_method": "contact_method", "source": "lead_source"},
    search=["name", "email", "phone", "mobile", "title"],
    detail_fields=FIELDS, form_fields=FIELDS,
    related=[
        Related(_l("Direct reports"), Contact, "reports_to_id",
                [Column("name", _l("Name"), link=True), Column("title", _l("Title"))], "contacts"),
    ],
    create=services.create_contact, update=services.update_contact,
    duplicates=lambda data, obj=None: services.matching_contacts(
        data.get("email"), data.get("phone") or data.get("mobile"), getattr(obj, "id", None)),
    references={"account_id": Account, "reports_to_id": Contact},
)
views.register()
