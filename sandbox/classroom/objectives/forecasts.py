"""Forecast objectives: a submitted forecast for a quarter, and a forecast close to what was won.

`forecast_submitted`: the student's own `forecast.submit` entry for the quarter, in their run, by their
deadline. Nothing takes a submission back, so it stands once made.

`forecast_accuracy`: the **latest** submission for the quarter made at least `before_deadline` before the
student's deadline is compared with what they had closed won in that quarter **at the deadline**. Both sides
are read so that nothing done later changes them:

* the forecast comes from the entry's params, not from the submission row (submitting again after the
  deadline replaces the row, never an earlier entry);
* the actual is each opportunity as it stood at the deadline: a field changed afterwards (stage, amount,
  close date, owner, recycle bin) counts with the value the first later change found (its "before"), and an
  opportunity created afterwards does not count. So winning, reopening, re-pricing, re-dating, transferring
  or deleting a deal after the deadline moves nothing; nor does submitting once everything is closed, when
  the scenario asks for the forecast some time before the deadline.

A forecast of nothing against nothing won is not "accurate": with no closed-won amount there is nothing to
compare, and the objective is not met.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from seed.schema import ForecastAccuracy, Objective

from ...codes.services import flagged
from ...extensions import db
from ...forecasts.scenario import resolve_quarter
from ...i18n import N_
from ...money import money_of
from ...oplog import LogEntry
from ...opportunities.models import Opportunity
from .checks import CheckKind, Context, Outcome, Phrases, counted, make_outcome, register_check, scored

# The opportunity fields whose value at the deadline decides the actual.
FIELDS = ("stage", "amount", "close_date", "owner_id", "deleted_at")


def _quarter(objective: Objective, ctx: Context) -> Any:
    return resolve_quarter(objective.check.quarter, ctx.class_run.started_at)


def submissions(ctx: Context, quarter_key: str) -> list[Any]:
    """Every counted `forecast.submit` entry of the class's students for the quarter, oldest first."""
    return list(db.session.execute(
        select(LogEntry.id, LogEntry.actor_id, LogEntry.at, LogEntry.params)
        .where(counted(ctx), LogEntry.verb == "forecast.submit",
               LogEntry.params["quarter"].as_string() == quarter_key)
        .order_by(LogEntry.id).execution_options(skip_visibility=True)).all())


@register_check
class ForecastSubmittedCheck(CheckKind):
    """The student submitted a forecast for the quarter by their deadline."""

    name = "forecast_submitted"

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        """Met for each student with a counted submission for the quarter."""
        quarter = _quarter(objective, ctx)
        found: dict[int, int] = {}
        for row in submissions(ctx, quarter.key):
            found[row.actor_id] = row.id
        tr = Phrases()
        result = {}
        for student in ctx.student_ids:
            if student in found:
                outcome = make_outcome(objective, 1, 1, tr(N_("Forecast for %(quarter)s submitted."),
                                                            quarter=quarter.key))
                outcome.entry_ids.append(found[student])
            else:
                outcome = make_outcome(objective, 0, 1, tr(N_("No forecast for %(quarter)s submitted yet."),
                                                            quarter=quarter.key))
            result[student] = outcome
        return result


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _as_money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def won_at_deadline(ctx: Context, first_day: date, end: date) -> dict[int, Decimal]:
    """Per student: the amount of opportunities won, closing in [first_day, end), as they stood at their deadline."""
    class_id = ctx.class_run.class_id
    won = set(flagged("opportunity_stage", "won"))
    opps = db.session.execute(
        select(Opportunity.id, Opportunity.created_at, *(getattr(Opportunity, f) for f in FIELDS))
        .where(Opportunity.class_id == class_id).execution_options(skip_visibility=True)).all()
    if not opps:
        return {}
    earliest = min(ctx.deadlines.values())
    later = db.session.execute(
        select(LogEntry.object_id, LogEntry.at, LogEntry.changes)
        .where(LogEntry.class_id == class_id, LogEntry.object_type == "opportunity", LogEntry.at > earliest)
        .order_by(LogEntry.id).execution_options(skip_visibility=True)).all()
    by_deadline: dict[datetime, set[int]] = defaultdict(set)
    for student, deadline in ctx.deadlines.items():
        by_deadline[deadline].add(student)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    for deadline, students in by_deadline.items():
        # The first change of each field after this deadline holds, as its "before", the value at the deadline.
        before: dict[int, dict[str, Any]] = defaultdict(dict)
        for object_id, at, changes in later:
            if at <= deadline:
                continue
            for name, pair in ((changes or {}).get("fields") or {}).items():
                if name in FIELDS and isinstance(pair, list) and pair:
                    before[object_id].setdefault(name, pair[0])
        for row in opps:
            if row.created_at > deadline:
                continue
            then = {f: before[row.id].get(f, getattr(row, f)) if row.id in before else getattr(row, f) for f in FIELDS}
            if then["deleted_at"] is not None or then["stage"] not in won or then["owner_id"] not in students:
                continue
            day = _as_date(then["close_date"])
            if day is None or not first_day <= day < end:
                continue
            totals[then["owner_id"]] += _as_money(then["amount"])
    return dict(totals)


@register_check
class ForecastAccuracyCheck(CheckKind):
    """The latest forecast submitted in time lies within `within` % of the quarter's closed won at the deadline."""

    name = "forecast_accuracy"

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        """Compare each student's latest timely forecast with their closed won at the deadline."""
        check: ForecastAccuracy = objective.check
        quarter = _quarter(objective, ctx)
        latest: dict[int, Any] = {}
        for row in submissions(ctx, quarter.key):
            limit = ctx.deadlines[row.actor_id] - (check.before_deadline or timedelta(0))
            if row.at <= limit:
                latest[row.actor_id] = row
        actual = won_at_deadline(ctx, quarter.first_day, quarter.end) if ctx.live else {}
        tr = Phrases()
        within = f"{check.within.normalize():f}"
        result = {}
        for student in ctx.student_ids:
            row = latest.get(student)
            if row is None:
                reason = (tr(N_("No forecast for %(quarter)s submitted at least %(days)s days before the deadline."),
                             quarter=quarter.key, days=_days(check)) if check.before_deadline
                          else tr(N_("No forecast for %(quarter)s submitted before the deadline."), quarter=quarter.key))
                result[student] = make_outcome(objective, 0, 1, reason)
                continue
            forecast = _as_money((row.params or {}).get(check.measure))
            won = actual.get(student, Decimal(0))
            if not ctx.live:
                # A replaced or undone run's deals are gone (a snapshot holds them): the actual cannot be read.
                result[student] = make_outcome(objective, 0, 1, tr(N_(
                    "This run's deals were replaced by a later load or reset: the forecast cannot be compared.")))
                continue
            if won <= 0:
                result[student] = make_outcome(objective, 0, 1, tr(N_(
                    "Nothing closed won in %(quarter)s at the deadline: there is nothing to compare the forecast "
                    "with."), quarter=quarter.key))
                continue
            off = abs(forecast - won) * 100 / won
            met = off <= check.within
            reason = tr(N_("Forecast %(forecast)s against %(won)s closed won at the deadline: %(off)s %% off "
                           "(%(within)s %% allowed)."), forecast=money_of(forecast, ctx.class_run.class_id),
                        won=money_of(won, ctx.class_run.class_id), off=f"{off:.1f}", within=within)
            outcome = scored(objective, int(met), 1, 1.0 if met else 0.0, reason)
            outcome.entry_ids.append(row.id)
            result[student] = outcome
        return result


def _days(check: ForecastAccuracy) -> str:
    span = check.before_deadline
    days = span.total_seconds() / 86400 if span else 0
    return f"{days:g}"
