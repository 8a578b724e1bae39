"""The lead's registry entry: everything the record pages, import, export and the log know of a lead."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..accounts.models import Account
from ..campaigns.attribution import clean_campaign_id
from ..campaigns.models import Campaign
from ..contacts.models import Contact
from ..opportunities.models import Opportunity
from ..records.registry import Column, Filter, RecordType, register
from .forms import LeadForm
from .models import Lead

LEAD = register(RecordType(
    name="lead", model=Lead, form=LeadForm, singular=_l("Lead"), plural=_l("Leads"),
    fields=["name", "company", "title", "phone", "mobile", "email", "website", "address", "industry", "source",
            "status", "rating", "annual_revenue", "employees", "campaign_id", "description"],
    codes={"status": "lead_status", "source": "lead_source", "industry": "industry", "rating": "rating"},
    references={"campaign_id": Campaign, "converted_account_id": Account, "converted_contact_id": Contact,
                "converted_opportunity_id": Opportunity},
    search=["name", "company", "email", "phone", "mobile"],
    columns=[Column("name", _l("Name"), link=True), Column("company", _l("Company")),
             Column("status", _l("Status"), code="lead_status"), Column("source", _l("Source"), code="lead_source"),
             Column("rating", _l("Rating"), code="rating"), Column("phone", _l("Phone"))],
    filters=[Filter("status", _l("Status"), "lead_status"), Filter("source", _l("Source"), "lead_source"),
             Filter("rating", _l("Rating"), "rating")],
    # A campaign the viewer cannot see is refused next to the field (forms, imports and direct calls alike).
    clean=clean_campaign_id,
    detail_template="leads/detail.html",
))
