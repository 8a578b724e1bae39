"""Competitor pages: the generic ones, plus the opportunities they competed in (within visibility)."""

from __future__ import annotations

from typing import Any

from ..records.views import RecordViews
from . import bp, services
from .record import COMPETITOR


class CompetitorViews(RecordViews):
    """Adds the opportunities the competitor took part in, with win/loss counts, to the detail page."""

    def clone(self, record_id: int) -> Any:
        """Cloning is offered to those who may change the competitor (classmates only read it)."""
        self.writable(record_id)
        return super().clone(record_id)

    def render(self, template: str, **context: Any) -> str:
        """Render a page; the detail page also lists the opportunities the competitor competed in."""
        if template == self.detail_template and "obj" in context:
            context["competed"] = services.competed_in(context["obj"])
        return super().render(template, **context)


views = CompetitorViews(bp, COMPETITOR)
views.register()
