"""Account pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..contacts.models import Contact
from ..opportunities.models import Opportunity
from ..records.views import Column, Filter, RecordViews, Related
from . import bp, services
from .forms import AccountForm
from .models import Account

FIELDS = ["name", "type", "industry", "rating", "level", "ownership", "source", "phone", "fax", "email", "website",
          "billing_address", "shipping_address", "employees", "annual_revenue", "parent_id", "tags", "description"]
CODES = {"type": "account_type", "industry": "industry", "rating": "rating", "level": "account_level",
         "ownership": "ownership", "source": "lead_source"}

views = RecordViews(
    bp, Account, AccountForm,
    singular=_l("Account"), plural=_l("Accounts"),
    columns=[
        Column("name", _l("Account name"), link=True),
        Column("type", _l("Type"), code="account_type"),
        Column("industry", _l("Industry"), code="industry"),
        Column("level", _l("Level"), code="account_level"),
        Column("phone", _l("Phone")),
    ],
    filters=[Filter("type", _l("Type"), "account_type"), Filter("industry", _l("Industry"), "industry"),
             Filter("level", _l("Level"), "account_level")],
    codes=CODES,
    search=["name", "phone", "email", "tags"],
    detail_fields=FIELDS, form_fields=FIELDS,
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
    create=services.create_account, update=services.update_account,
    duplicates=lambda data, obj=None: services.similar_accounts(data.get("name", ""), getattr(obj, "id", None)),
    references={"parent_id": Account},
)
views.register()
