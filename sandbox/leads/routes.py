"""Lead pages: the generic record views configured for leads."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..records.views import Column, Filter, RecordViews
from . import bp
from .forms import LeadForm
from .models import Lead

FIELDS = ["name", "company", "title", "phone", "mobile", "email", "website", "address", "industry", "source",
          "status", "rating", "annual_revenue", "employees", "description"]

views = RecordViews(
    bp,
    Lead,
    LeadForm,
    singular=_l("Lead"),
    plural=_l("Leads"),
    columns=[
        Column("name", _l("Name"), link=True),
        Column("company", _l("Company")),
        Column("status", _l("Status"), code="lead_status"),
        Column("source", _l("Source"), code="lead_source"),
        Column("rating", _l("Rating"), code="rating"),
        Column("phone", _l("Phone")),
    ],
    filters=[Filter("status", _l("Status"), "lead_status"), Filter("source", _l("Source"), "lead_source"),
             Filter("rating", _l("Rating"), "rating")],
    codes={"status": "lead_status", "source": "lead_source", "industry": "industry", "rating": "rating"},
    search=["name", "company", "email", "phone", "mobile"],
    detail_fields=FIELDS,
    form_fields=FIELDS,
)
views.register()
