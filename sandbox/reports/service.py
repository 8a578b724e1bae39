"""Service reports (客服报表): cases per month, handled against open, time to resolve per level,
satisfaction and SLA breaches.

Every report reads `cases` through the engine, so the visibility rule applies and another class's
cases never change a number. Timestamps are the ones the workflow engine sets (the workflow contract):
`resolved_at` when a case reaches a resolving state, `closed_at` on closing, `due_at` the SLA deadline.
A case is an SLA breach when it was resolved after its deadline, or is still unresolved past it.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Float, Numeric, cast, func, literal

from ..clock import utcnow
from .expressions import days_between
from .leads import count_if
from .registry import (
    CLASS,
    DEPARTMENT,
    MONTH,
    OWNER,
    QUARTER,
    Family,
    Grouping,
    Measure,
    Report,
    count_measure,
    rate_measure,
    register,
    register_family,
)

register_family(Family("service", _l("Service"),
                       _l("Feedback and complaints per month, handled and open cases, time to resolve per level, "
                          "satisfaction, SLA breaches."), order=60, icon="headset"))

PEOPLE = [OWNER, DEPARTMENT, CLASS]

NONE_KEY = "~"


def _workflow_labels(keys: list[Any]) -> dict[Any, str]:
    """Workflow keys -> names in the reader's language, from the workflow files (a key no longer shipped shows as
    itself)."""
    from ..cases.rules import workflow_label
    from ..workflows.engine import definitions

    found = definitions()
    return {k: workflow_label(found.get(k), k) for k in keys}


def _workflow_condition(model: Any, key: str) -> list[Any]:
    return [model.workflow == key]


def _level_labels(keys: list[Any]) -> dict[Any, str]:
    """Complaint levels as seed 000 names them (level 1 is the most severe)."""
    return {k: _("Level %(n)s", n=k) for k in keys}


def _level_condition(model: Any, key: str) -> list[Any]:
    if key == NONE_KEY:
        return [model.level.is_(None)]
    if not key.isdigit() or len(key) > 2:
        return [model.id.is_(None)]  # no level has that key: no rows, not an error
    return [model.level == int(key)]


def _score_labels(keys: list[Any]) -> dict[Any, str]:
    return {k: _("%(n)s of 5", n=k) for k in keys}


def _score_condition(model: Any, key: str) -> list[Any]:
    if not key.isdigit() or len(key) > 2:
        return [model.id.is_(None)]
    return [model.satisfaction == int(key)]


# Groupings rather than plain fields: the keys are shown as words ("Complaint", "Level 2"), never codes.
WORKFLOW = Grouping("workflow", _l("Case type"), column=lambda m: m.workflow, condition=_workflow_condition,
                    labels=_workflow_labels)
LEVEL = Grouping("level", _l("Complaint level"), column=lambda m: m.level, condition=_level_condition,
                 labels=_level_labels)
SCORE = Grouping("satisfaction", _l("Satisfaction score"), column=lambda m: m.satisfaction,
                 condition=_score_condition, labels=_score_labels)
GROUPINGS = [WORKFLOW, LEVEL, SCORE]


def resolved(model: Any) -> Any:
    """The case reached a resolving state (the engine stamps `resolved_at`)."""
    return model.resolved_at.is_not(None)


def breached(model: Any) -> Any:
    """Resolved after its deadline, or unresolved and past it now (cases without a deadline never are)."""
    now = literal(utcnow(), DateTime())
    return model.due_at.is_not(None) & (
        (resolved(model) & (model.resolved_at > model.due_at)) | (~resolved(model) & (now > model.due_at)))


def _has_deadline(model: Any) -> Any:
    return model.due_at.is_not(None)


def _rounded(expr: Any, places: int) -> Any:
    """`expr` rounded, as a float on both databases (PostgreSQL has no round(double precision, int), and
    its NUMERIC would come back as a Decimal shown with other digits than SQLite's REAL)."""
    return cast(func.round(cast(expr, Numeric(12, 4)), places), Float)


CASES = count_measure(_l("Cases"))
HANDLED = Measure("handled", _l("Handled"), lambda m: count_if(resolved(m)))
OPEN = Measure("open", _l("Still open"), lambda m: count_if(~resolved(m)))

register(Report(
    "service", "per_month", _l("Feedback and complaints per month"), "case",
    measures=[Measure("feedback", _l("Feedback"), lambda m: count_if(m.workflow == "feedback")),
              Measure("complaint", _l("Complaints"), lambda m: count_if(m.workflow == "complaint")),
              CASES],
    groups=[MONTH, QUARTER, "workflow", *PEOPLE], groupings=GROUPINGS, chart="line",
    chart_measures=["feedback", "complaint"],
    description=_l("Cases opened each month: feedback, complaints, and every case type together."), order=10,
))

register(Report(
    "service", "handled", _l("Handled and open cases"), "case",
    measures=[HANDLED, OPEN, rate_measure("handled_rate", _l("Handled (%)"), resolved, lambda m: m.id.is_not(None)),
              CASES],
    groups=["workflow", *PEOPLE, "level", MONTH], groupings=GROUPINGS, chart_measures=["handled", "open"],
    description=_l("Of the cases opened in the period, how many were resolved and how many are still open."),
    order=20,
))

# Created -> resolved, in days (a fraction, shown to a tenth: 0.5 days is 12 hours); the same SQL on both databases.
# One measure of time only: each one more is another date arithmetic per row, twice (groups and total).
TIME_TO_RESOLVE = days_between
register(Report(
    "service", "resolve_time", _l("Average time to resolve"), "case",
    measures=[Measure("avg_days", _l("Average days to resolve"),
                      lambda m: func.avg(TIME_TO_RESOLVE(m.created_at, m.resolved_at)), "days",
                      parts=lambda m: (func.sum(TIME_TO_RESOLVE(m.created_at, m.resolved_at)),
                                       func.count(TIME_TO_RESOLVE(m.created_at, m.resolved_at)))),
              count_measure(_l("Resolved cases"))],
    groups=["level", "workflow", *PEOPLE, MONTH], groupings=GROUPINGS,
    where=lambda m, p: [resolved(m)],
    description=_l("From opening to resolution, per complaint level (level 1 is the most severe) or case type. "
                   "Resolved cases opened in the period."), order=30,
))

register(Report(
    "service", "satisfaction", _l("Satisfaction"), "case",
    measures=[Measure("avg_satisfaction", _l("Average satisfaction (1–5)"),
                      lambda m: _rounded(func.avg(m.satisfaction), 2)),
              count_measure(_l("Scored cases"))],
    groups=["workflow", *PEOPLE, "level", MONTH], groupings=GROUPINGS,
    where=lambda m, p: [m.satisfaction.is_not(None)],
    description=_l("The customers' satisfaction scores recorded on closing: the average per case type or person."),
    order=40,
))

register(Report(
    "service", "satisfaction_scores", _l("Satisfaction scores"), "case",
    measures=[count_measure(_l("Scored cases"))],
    groups=["satisfaction", "workflow", *PEOPLE], groupings=GROUPINGS, chart="pie",
    where=lambda m, p: [m.satisfaction.is_not(None)],
    description=_l("How many cases received each score, from 1 (very unsatisfied) to 5 (very satisfied)."),
    order=50,
))

register(Report(
    "service", "sla", _l("SLA breaches"), "case",
    measures=[Measure("breached", _l("Breaches"), lambda m: count_if(breached(m))),
              Measure("on_time", _l("Within the deadline"), lambda m: count_if(~breached(m))),
              rate_measure("breach_rate", _l("Breach rate (%)"), breached, _has_deadline),
              count_measure(_l("Cases with a deadline"))],
    groups=["workflow", "level", *PEOPLE, MONTH], groupings=GROUPINGS, chart_measures=["breached", "on_time"],
    where=lambda m, p: [_has_deadline(m)],
    description=_l("Cases resolved after their deadline, or still unresolved past it today."), order=60,
))
