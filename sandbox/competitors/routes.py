"""Competitor pages: the generic ones, plus the opportunities they competed in (within visibility)."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import lazy_gettext as _l

from ..access import can_write, current_viewer, get_visible_or_404
from ..records.views import Column, Filter, RecordViews
from . import bp, services
from .forms import CompetitorForm
from .models import Competitor

FIELDS = ["name", "website", "threat_level", "company_type", "strengths", "weaknesses", "products", "description"]
CODES = {"threat_level": "threat_level", "company_type": "company_type"}


class CompetitorViews(RecordViews):
    """Adds the opportunities the competitor took part in, with win/loss counts, to the detail page."""

    def clone(self, record_id: int) -> Any:
        """Cloning is offered to those who may change the competitor (classmates only read it)."""
        self.require_changer()
        if not can_write(get_visible_or_404(Competitor, record_id), current_viewer()):
            abort(403)
        return super().clone(record_id)

    def render(self, template: str, **context: Any) -> str:
        if template == self.detail_template and "obj" in context:
            context["competed"] = services.competed_in(context["obj"])
        return super().render(template, **context)


views = CompetitorViews(
    bp, Competitor, CompetitorForm,
    singular=_l("Competitor"), plural=_l("Competitors"),
    columns=[
        Column("name", _l("Competitor name"), link=True),
        Column("threat_level", _l("Threat level"), code="threat_level"),
        Column("company_type", _l("Company type"), code="company_type"),
        Column("website", _l("Website")),
    ],
    filters=[Filter("threat_level", _l("Threat level"), "threat_level"),
             Filter("company_type", _l("Company type"), "company_type")],
    codes=CODES,
    search=["name", "products", "strengths", "weaknesses"],
    detail_fields=FIELDS, form_fields=FIELDS,
    detail_template="competitors/detail.html",
)
views.register()
