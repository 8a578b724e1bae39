"""The account's registry entry: fields, labels, code tables, list, related lists and services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..contacts.models import Contact
from ..opportunities.models import Opportunity
from ..records.registry import Column, Filter, RecordType, Related, register
from . import services
from .forms import AccountForm
from .models import Account


def _duplicates(data: dict, obj: Account | None = None) -> list[Account]:
    """Visible accounts with the same or a similar name (warned about before creating another)."""
    return services.similar_accounts(data.get("name", ""), getattr(obj, "id", None))


ACCOUNT = register(RecordType(
    name="account", model=Account, form=AccountForm, singular=_l("Account"), plural=_l("Accounts"),
    fields=["name", "type", "industry", "rating", "level", "ownership", "source", "phone", "fax", "email", "website",
            "billing_address", "shipping_address", "employees", "annual_revenue", "parent_id", "tags", "description"],
    codes={"type": "account_type", "industry": "industry", "rating": "rating", "level": "account_level",
           "ownership": "ownership", "source": "lead_source"},
    references={"parent_id": Account},
    search=["name", "phone", "email", "tags"],
    columns=[Column("name", _l("Account name"), link=True), Column("type", _l("Type"), code="account_type"),
             Column("industry", _l("Industry"), code="industry"), Column("level", _l("Level"), code="account_level"),
             Column("phone", _l("Phone"))],
    filters=[Filter("type", _l("Type"), "account_type"), Filter("industry", _l("Industry"), "industry"),
             Filter("level", _l("Level"), "account_level")],
    related=[
        Related(_l("Contacts"), Contact, "account_id",
                [Column("name", _l("Name"), link=True), Column("title", _l("Title")), Column("phone", _l("Phone")),
                 Column("email", _l("Email"))], "contacts"),
        Related(_l("Opportunities"), Opportunity, "account_id",
                [Column("name", _l("Opportunity name"), link=True), Column("stage", _l("Stage")),
                 Column("amount", _l("Amount")), Column("close_date", _l("Close date"))], "opportunities",
                codes={"stage": "opportunity_stage"}),
        Related(_l("Subsidiaries"), Account, "parent_id",
                [Column("name", _l("Account name"), link=True), Column("type", _l("Type"))], "accounts",
                codes={"type": "account_type"}),
    ],
    create=services.create_account, update=services.update_account, duplicates=_duplicates,
))
