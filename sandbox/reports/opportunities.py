"""Opportunity reports: pipeline by stage, won deals, win rate, average deal size."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from ..codes.services import flagged
from .registry import (
    CLASS,
    DEPARTMENT,
    MONTH,
    OWNER,
    QUARTER,
    Report,
    avg_measure,
    count_measure,
    rate_measure,
    register,
    sum_measure,
)


def won(model: Any) -> Any:
    """The opportunity is at a won stage."""
    return model.stage.in_(flagged("opportunity_stage", "won"))


def closed(model: Any) -> Any:
    """The opportunity is at a closed stage (won or lost)."""
    return model.stage.in_(flagged("opportunity_stage", "closed"))


AMOUNT = sum_measure("amount", _l("Amount"))
PEOPLE = [OWNER, DEPARTMENT, CLASS]

register(Report(
    "opportunities", "pipeline", _l("Pipeline by stage"), "opportunity",
    measures=[AMOUNT, count_measure(_l("Opportunities"))],
    groups=["stage", *PEOPLE, "type", "source"], date_field="close_date",
    where=lambda m, p: [~closed(m)],
    description=_l("Open opportunities by stage: how much is in play and where it stands (close date in the period)."),
    order=10,
))

register(Report(
    "opportunities", "won", _l("Won opportunities"), "opportunity",
    measures=[AMOUNT, count_measure(_l("Opportunities"))],
    groups=[OWNER, MONTH, QUARTER, DEPARTMENT, CLASS, "type", "source"], date_field="close_date",
    where=lambda m, p: [won(m)],
    description=_l("Closed-won opportunities, by close date."), order=20,
))

register(Report(
    "opportunities", "win_rate", _l("Win rate"), "opportunity",
    measures=[rate_measure("win_rate", _l("Win rate (%)"), won, closed), count_measure(_l("Closed opportunities"))],
    groups=[OWNER, DEPARTMENT, CLASS, "type", "source", QUARTER], date_field="close_date",
    where=lambda m, p: [closed(m)],
    description=_l("Of the closed opportunities, the share won."), order=30,
))

register(Report(
    "opportunities", "deal_size", _l("Average deal size"), "opportunity",
    measures=[avg_measure("amount", _l("Average amount")), count_measure(_l("Won opportunities"))],
    groups=[OWNER, DEPARTMENT, CLASS, "type", "source", QUARTER], date_field="close_date",
    where=lambda m, p: [won(m)],
    description=_l("The average amount of a won opportunity."), order=40,
))
