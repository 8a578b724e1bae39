"""Lead reports: by status, by source, conversion rate and average time to convert."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func

from .expressions import days_between
from .registry import (
    CLASS,
    DEPARTMENT,
    MONTH,
    OWNER,
    QUARTER,
    Measure,
    Report,
    count_measure,
    rate_measure,
    register,
)

PEOPLE = [OWNER, DEPARTMENT, CLASS]
LEADS = count_measure(_l("Leads"))


def converted(model: Any) -> Any:
    """The lead was converted (conversion stamps `converted_at`)."""
    return model.converted_at.is_not(None)


def count_if(condition: Any) -> Any:
    """The number of rows meeting `condition` (0, not NULL, for none)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


register(Report(
    "leads", "status", _l("Leads by status"), "lead",
    measures=[LEADS], groups=["status", *PEOPLE, "source", MONTH], chart="pie",
    description=_l("Where the leads stand."), order=10,
))

register(Report(
    "leads", "source", _l("Leads by source"), "lead",
    measures=[LEADS], groups=["source", *PEOPLE, "industry", "status"],
    description=_l("Where the leads come from."), order=20,
))

register(Report(
    "leads", "conversion", _l("Conversion rate"), "lead",
    measures=[rate_measure("conversion_rate", _l("Conversion rate (%)"), converted, lambda m: m.id.is_not(None)),
              LEADS, Measure("converted", _l("Converted leads"), lambda m: count_if(converted(m)))],
    groups=["source", *PEOPLE, MONTH, QUARTER],
    description=_l("Of all the leads created in the period, the share converted into an account."), order=30,
))

register(Report(
    "leads", "time_to_convert", _l("Time to convert"), "lead",
    measures=[Measure("avg_days", _l("Average days to convert"),
                      lambda m: func.avg(days_between(m.created_at, m.converted_at)), "days"),
              count_measure(_l("Converted leads"))],
    groups=[*PEOPLE, "source", MONTH, QUARTER], where=lambda m, p: [converted(m)], date_field="converted_at",
    description=_l("Average days from a lead's creation to its conversion (leads converted in the period)."),
    order=40,
))

