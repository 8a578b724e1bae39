"""A department manager's team view: each subordinate's numbers, counted only over what the manager may see.

Every count is an ORM query, so the visibility listener (sandbox/access.py) filters it for the current
viewer: a subordinate's record the manager may not read is not counted. One grouped query per figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import to_user_timezone, to_utc
from sqlalchemy import func, select

from ..activities.models import Activity
from ..codes.services import choices, extra
from ..extensions import db
from ..leads.models import Lead
from ..opportunities.models import Opportunity
from ..org.models import User, utcnow

CLOSED_LEAD_STATUSES = ("converted", "unqualified")


@dataclass
class TeamRow:
    """One subordinate's line of the team view."""

    user: User
    open_leads: int = 0
    open_opportunities: int = 0
    pipeline: Decimal = Decimal("0")
    won_month: Decimal = Decimal("0")
    activities_week: int = 0


def period_starts(now: datetime | None = None) -> tuple[datetime, datetime]:
    """(start of this month, start of this week — Monday) in the UI time zone, as naive UTC like stored times."""
    today = to_user_timezone(now or utcnow()).date()
    month = datetime.combine(today.replace(day=1), time.min)
    week = datetime.combine(today - timedelta(days=today.weekday()), time.min)
    return to_utc(month), to_utc(week)


def _grouped(stmt: Any) -> dict[int, Any]:
    return {owner: value for owner, value in db.session.execute(stmt).all()}


def team_rows(subordinate_ids: frozenset[int] | set[int], now: datetime | None = None) -> list[TeamRow]:
    """Each active subordinate's open leads, open deals and their amount, won this month, activities this week."""
    if not subordinate_ids:
        return []
    ids = sorted(subordinate_ids)
    users = db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.display_name, User.id)).all()
    month, week = period_starts(now)
    closed = [code for code, _label in choices("opportunity_stage") if extra("opportunity_stage", code).get("closed")]
    leads = _grouped(select(Lead.owner_id, func.count()).where(
        Lead.owner_id.in_(ids), Lead.status.not_in(CLOSED_LEAD_STATUSES)).group_by(Lead.owner_id))
    opps = {owner: (n, amount) for owner, n, amount in db.session.execute(
        select(Opportunity.owner_id, func.count(), func.coalesce(func.sum(Opportunity.amount), 0))
        .where(Opportunity.owner_id.in_(ids), Opportunity.stage.not_in(closed or ["closed_won", "closed_lost"]))
        .group_by(Opportunity.owner_id)).all()}
    won = _grouped(select(Opportunity.owner_id, func.coalesce(func.sum(Opportunity.amount), 0)).where(
        Opportunity.owner_id.in_(ids), Opportunity.stage == "closed_won", Opportunity.closed_at >= month)
        .group_by(Opportunity.owner_id))
    acts = _grouped(select(Activity.owner_id, func.count()).where(
        Activity.owner_id.in_(ids), Activity.created_at >= week).group_by(Activity.owner_id))
    rows = []
    for user in users:
        n, amount = opps.get(user.id, (0, 0))
        rows.append(TeamRow(user, leads.get(user.id, 0), n, Decimal(str(amount)), Decimal(str(won.get(user.id, 0))),
                            acts.get(user.id, 0)))
    return rows


def team_totals(rows: list[TeamRow]) -> dict[str, Any]:
    """The team's sums (the table's last line)."""
    return {
        "open_leads": sum(r.open_leads for r in rows),
        "open_opportunities": sum(r.open_opportunities for r in rows),
        "pipeline": sum((r.pipeline for r in rows), Decimal("0")),
        "won_month": sum((r.won_month for r in rows), Decimal("0")),
        "activities_week": sum(r.activities_week for r in rows),
    }

