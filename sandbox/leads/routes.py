"""Lead pages: the generic record views configured for leads."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..records.views import Column, Filter, RecordViews
from . import bp
from .forms import LeadForm
from .models import LEAD_STATUSES, Lead

views = RecordViews(
    bp,
    Lead,
    LeadForm,
    singular=_l("Lead"),
    plural=_l("Leads"),
    columns=[
        Column("name", _l("Name"), link=True),
        Column("company", _l("Company")),
        Column("status", _l("Status"), choices=LEAD_STATUSES),
        Column("phone", _l("Phone")),
        Column("email", _l("Email")),
    ],
    filters=[Filter("status", _l("Status"), LEAD_STATUSES)],
    search=["name", "company", "email", "phone"],
    detail_fields=["name", "company", "title", "email", "phone", "status", "description"],
    form_fields=["name", "company", "title", "email", "phone", "status", "description"],
)
views.register()
