"""The opportunity's registry entry: fields, labels, code tables, list and services of a deal."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..accounts.models import Account
from ..campaigns.attribution import clean_campaign_id
from ..campaigns.models import Campaign
from ..records.registry import Column, Filter, RecordType, register
from . import services
from .forms import OpportunityForm
from .models import Opportunity

FIELDS = ["name", "account_id", "type", "stage", "amount", "close_date", "next_step", "source", "lost_reason",
          "forecast_category", "campaign_id", "description"]

OPPORTUNITY = register(RecordType(
    name="opportunity", model=Opportunity, form=OpportunityForm,
    singular=_l("Opportunity"), plural=_l("Opportunities"),
    fields=FIELDS, detail_fields=[*FIELDS[:4], "probability", *FIELDS[4:]],
    codes={"stage": "opportunity_stage", "type": "opportunity_type", "source": "lead_source",
           "lost_reason": "closed_lost_reason", "forecast_category": "forecast_category"},
    references={"account_id": Account, "campaign_id": Campaign},
    labels={"probability": _l("Probability (%)")},
    search=["name", "next_step"],
    columns=[Column("name", _l("Opportunity name"), link=True), Column("account_id", _l("Account"), sortable=False),
             Column("stage", _l("Stage"), code="opportunity_stage"), Column("amount", _l("Amount")),
             Column("probability", _l("Probability (%)")), Column("close_date", _l("Close date"))],
    filters=[Filter("stage", _l("Stage"), "opportunity_stage"), Filter("type", _l("Type"), "opportunity_type")],
    # A campaign the viewer cannot see is refused next to the field (import and forged posts included).
    create=lambda cls, data, owner=None: services.create_opportunity(cls, clean_campaign_id(data), owner),
    update=lambda obj, data, expected_version=None: services.update_opportunity(
        obj, clean_campaign_id(data), expected_version=expected_version),
    detail_template="opportunities/detail.html",
))
