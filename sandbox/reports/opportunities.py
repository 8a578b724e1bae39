"""Opportunity reports: pipeline by stage, won deals, win rate, average deal size, days in stage."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, distinct, func, literal, select

from ..clock import utcnow
from ..codes.services import choices as code_choices
from ..codes.services import flagged
from ..codes.services import label as code_label
from ..extensions import db
from ..opportunities.models import Opportunity, StageHistory
from . import engine
from .expressions import days_between
from .registry import (
    CLASS,
    DEPARTMENT,
    MONTH,
    OWNER,
    QUARTER,
    Grouping,
    Measure,
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


# ---- days in stage ------------------------------------------------------------------------------------
def _stage_labels(keys: list[Any]) -> dict[Any, str]:
    return {k: code_label("opportunity_stage", k) for k in keys}


def _was_in_stage(model: Any, key: str) -> list[Any]:
    """The opportunities that entered stage `key` at some time (their stage history says so)."""
    return [model.id.in_(select(StageHistory.opportunity_id).where(StageHistory.to_stage == key))]


STAGE_HISTORY = Grouping("stage", _l("Stage"), column=lambda m: StageHistory.to_stage, condition=_was_in_stage,
                         labels=_stage_labels)


def days_in_stage(report: Report, query: engine.ReportQuery) -> engine.Result:
    """The average days opportunities spent in each open stage, from their stage history.

    A stay in a stage runs from the move into it to the next move (or to now, for the stage an
    opportunity is still in), as the opportunity page's history counts it. Closed stages are an end,
    not a stay, so they have no row. One query: a window function finds each stay's end.
    """
    left = func.lead(StageHistory.changed_at).over(
        partition_by=StageHistory.opportunity_id, order_by=(StageHistory.changed_at, StageHistory.id))
    # Joining the opportunity puts the stays under the visibility rule and the report's filters.
    stays = (select(StageHistory.opportunity_id.label("opp"), StageHistory.to_stage.label("stage"),
                    StageHistory.changed_at.label("entered"), left.label("left"))
             .join(Opportunity, Opportunity.id == StageHistory.opportunity_id)
             .where(*engine.conditions(report, query))).subquery()
    days = days_between(stays.c.entered, func.coalesce(stays.c.left, literal(utcnow(), DateTime())))
    closed_stages = flagged("opportunity_stage", "closed")
    stmt = (select(stays.c.stage, func.avg(days).label("avg_days"), func.count(distinct(stays.c.opp)).label("n"))
            .where(stays.c.stage.not_in(closed_stages)).group_by(stays.c.stage))
    found = {r.stage: r for r in db.session.execute(stmt)}
    order = [code for code, _label in code_choices("opportunity_stage")]
    order += sorted(k for k in found if k not in order)  # a stage since removed from the code table
    rows = [engine.Row(key=stage, label=code_label("opportunity_stage", stage),
                       values={"avg_days": round(float(found[stage].avg_days), 1), "count": found[stage].n},
                       drill=engine.drill_url(report, query, stage))
            for stage in order if stage in found]
    overall = db.session.execute(select(func.avg(days), func.count(distinct(stays.c.opp)))
                                 .where(stays.c.stage.not_in(closed_stages))).one()
    totals = {"avg_days": round(float(overall[0]), 1) if overall[0] is not None else None, "count": overall[1]}
    return engine.Result(report=report, query=query, rows=rows, totals=totals, measures=report.measures,
                         group_label=str(STAGE_HISTORY.label))


register(Report(
    "opportunities", "days_in_stage", _l("Days in stage"), "opportunity",
    # `days_in_stage` computes the values; the measures name the columns and how they are shown.
    measures=[Measure("avg_days", _l("Average days in stage"), lambda m: literal(None), "days"),
              count_measure(_l("Opportunities"))],
    groups=["stage"], groupings=[STAGE_HISTORY], compute=days_in_stage,
    description=_l("How long opportunities stay in each open stage, from their stage history (the stage an "
                   "opportunity is in now counts up to today). Opportunities created in the period."),
    order=50,
))
