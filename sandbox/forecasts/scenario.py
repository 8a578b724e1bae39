"""What scenarios ask of forecasts: quarters named relative to a run, and the default quotas a load fills in."""

from __future__ import annotations

from datetime import datetime

from flask_babel import to_user_timezone
from sqlalchemy import select

from seed.schema import Scenario

from ..extensions import db
from ..fiscal import Quarter, fiscal_start, parse_quarter, quarter_of
from ..org.models import User
from .models import Quota


def resolve_quarter(ref: str, started_at: datetime) -> Quarter:
    """`current` / `next` (the fiscal quarter of the run's first local day, or the one after) or `2026-Q3`."""
    start = fiscal_start()
    current = quarter_of(to_user_timezone(started_at).date(), start)
    if ref == "current":
        return current
    if ref == "next":
        return current.next()
    quarter = parse_quarter(ref, start)
    if quarter is None:  # the schema only lets the three forms through
        raise ValueError(f"not a quarter: {ref!r}")
    return quarter


def fill_default_quotas(scenario: Scenario, students: list[User], started_at: datetime, set_by: int) -> int:
    """Give each student the scenario's default quota for each of its quarters where they have none yet.

    Quotas are kept on reset (`Quota.__kept_on_reset__`), so a trainer's own quotas are never overwritten by a
    load: only the missing ones are added. Runs inside the load's operation, which logs the rows it adds.
    Returns how many quotas were added.
    """
    if scenario.quotas is None or not students:
        return 0
    quarters = sorted({resolve_quarter(ref, started_at) for ref in scenario.quotas.quarters})
    ids = [s.id for s in students]
    have = set(db.session.execute(
        select(Quota.owner_id, Quota.fiscal_year, Quota.quarter).where(Quota.owner_id.in_(ids))
        .execution_options(skip_visibility=True)).all())
    added = 0
    for student in students:
        for quarter in quarters:
            if (student.id, quarter.year, quarter.quarter) in have:
                continue
            db.session.add(Quota(owner_id=student.id, class_id=student.class_id, created_by_id=set_by,
                                 fiscal_year=quarter.year, quarter=quarter.quarter, amount=scenario.quotas.amount))
            added += 1
    return added
