"""The campaign's registry entry: fields, labels, code tables, list and services of a campaign."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..records.registry import Column, Filter, RecordType, register
from . import services
from .forms import CampaignForm
from .models import Campaign

CAMPAIGN = register(RecordType(
    name="campaign", model=Campaign, form=CampaignForm, singular=_l("Campaign"), plural=_l("Campaigns"),
    fields=["name", "type", "status", "start_date", "end_date", "budget", "expected_revenue", "actual_cost",
            "expected_response", "audience", "description"],
    codes={"type": "campaign_type", "status": "campaign_status"},
    search=["name", "audience", "description"],
    columns=[Column("name", _l("Campaign name"), link=True), Column("type", _l("Campaign type"), code="campaign_type"),
             Column("status", _l("Campaign status"), code="campaign_status"),
             Column("start_date", _l("Start date")), Column("end_date", _l("End date")),
             Column("actual_cost", _l("Actual cost"))],
    filters=[Filter("status", _l("Campaign status"), "campaign_status"),
             Filter("type", _l("Campaign type"), "campaign_type")],
    create=services.create_campaign, update=services.update_campaign,
    detail_template="campaigns/detail.html",
))
