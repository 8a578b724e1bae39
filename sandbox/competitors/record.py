"""The competitor's registry entry: fields, labels, code tables and list."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..records.registry import Column, Filter, RecordType, register
from .forms import CompetitorForm
from .models import Competitor

COMPETITOR = register(RecordType(
    name="competitor", model=Competitor, form=CompetitorForm, singular=_l("Competitor"), plural=_l("Competitors"),
    fields=["name", "website", "threat_level", "company_type", "strengths", "weaknesses", "products", "description"],
    codes={"threat_level": "threat_level", "company_type": "company_type"},
    search=["name", "products", "strengths", "weaknesses"],
    columns=[Column("name", _l("Competitor name"), link=True),
             Column("threat_level", _l("Threat level"), code="threat_level"),
             Column("company_type", _l("Company type"), code="company_type"), Column("website", _l("Website"))],
    filters=[Filter("threat_level", _l("Threat level"), "threat_level"),
             Filter("company_type", _l("Company type"), "company_type")],
    detail_template="competitors/detail.html",
))
