"""Sales reports (销售额分析): closed sales by month and quarter, by user, against quota, department roll-up.

Closed sales are the amounts of won opportunities, dated by their close date. "Against quota" reads
the quotas of one fiscal quarter (`sandbox/forecasts/models.Quota`, an owned record: a student sees
their own, a manager their subordinates', an instructor the class's) beside the won amount of the
same quarter, per salesperson or per department.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..fiscal import current_quarter
from ..forecasts.models import Quota
from ..opportunities.models import Opportunity
from . import engine
from .opportunities import won
from .registry import (
    CLASS,
    DEPARTMENT,
    MONTH,
    OWNER,
    QUARTER,
    Measure,
    Report,
    avg_measure,
    count_measure,
    register,
    sum_measure,
)

WON_AMOUNT = sum_measure("amount", _l("Closed sales"))
WON_COUNT = count_measure(_l("Won opportunities"))

register(Report(
    "sales", "closed", _l("Sales analysis (closed sales)"), "opportunity",
    measures=[WON_AMOUNT, WON_COUNT], groups=[MONTH, QUARTER, OWNER, DEPARTMENT, CLASS],
    date_field="close_date", where=lambda m, p: [won(m)],
    description=_l("Won amounts by month or fiscal quarter of the close date."), order=10,
))

register(Report(
    "sales", "by_user", _l("Sales by user"), "opportunity",
    measures=[WON_AMOUNT, WON_COUNT, avg_measure("amount", _l("Average amount"))],
    groups=[OWNER, DEPARTMENT, CLASS], date_field="close_date", where=lambda m, p: [won(m)],
    description=_l("Won amount and number of deals per salesperson."), order=20,
))

register(Report(
    "sales", "departments", _l("Department roll-up"), "opportunity",
    measures=[WON_AMOUNT, WON_COUNT], groups=[DEPARTMENT, OWNER, CLASS],
    date_field="close_date", where=lambda m, p: [won(m)],
    description=_l("Won amounts per department of the position tree; group by owner to see each member."),
    order=40,
))

# ---- against quota ------------------------------------------------------------------------------------
# The quota report computes its own rows (`against_quota`); these expressions only name the columns.
QUOTA = Measure("quota", _l("Quota"), lambda m: func.sum(Quota.amount), "money")
ATTAINMENT = Measure("attainment", _l("Attainment (%)"), lambda m: func.sum(m.amount), "percent")


def _percent(done: Decimal | None, target: Decimal | None) -> float | None:
    if not target:
        return None
    return round(float((done or 0) * 100 / target), 1)


def against_quota(report: Report, query: engine.ReportQuery) -> engine.Result:
    """Per salesperson (or department) for one fiscal quarter: quota, won amount and attainment."""
    q = query.quarter or current_quarter()
    # Quotas and opportunities are both read through the visibility rule (ORM selects of owned models).
    quotas = dict(db.session.execute(
        select(Quota.owner_id, func.sum(Quota.amount))
        .where(Quota.fiscal_year == q.year, Quota.quarter == q.quarter, *engine.people_conditions(Quota, query))
        .group_by(Quota.owner_id)).all())
    sold = dict(db.session.execute(
        select(Opportunity.owner_id, func.coalesce(func.sum(Opportunity.amount), 0))
        .where(*engine.conditions(report, query)).group_by(Opportunity.owner_id)).all())
    owners = sorted(set(quotas) | set(sold))
    if query.group == DEPARTMENT:
        departments = engine.departments_of(owners)
        keys: dict[Any, list[int]] = defaultdict(list)
        for owner in owners:
            keys[departments.get(owner, (None, ""))[0]].append(owner)
        labels: dict[Any, str] = {d: name for d, name in departments.values()}
    else:
        keys = {owner: [owner] for owner in owners}
        labels = engine.group_labels(report, OWNER, owners)
    rows = []
    for key, members in keys.items():
        quota = sum((Decimal(quotas[o]) for o in members if quotas.get(o) is not None), Decimal(0)) \
            if any(quotas.get(o) is not None for o in members) else None
        amount = sum((Decimal(sold.get(o) or 0) for o in members), Decimal(0))
        url_key = engine.NONE_KEY if key is None else str(key)
        rows.append(engine.Row(
            key=url_key, label=(labels.get(key) if key is not None else None) or _("(none)"),
            values={WON_AMOUNT.key: amount.quantize(Decimal("0.01")),
                    "quota": quota.quantize(Decimal("0.01")) if quota is not None else None,
                    "attainment": _percent(amount, quota)},
            drill=engine.drill_url(report, query, url_key)))
    chosen = report.measure(query.measure).key
    rows.sort(key=lambda r: (r.values[chosen] is None, -(r.values[chosen] or 0), r.label))
    total_quota = sum((r.values["quota"] for r in rows if r.values["quota"] is not None), Decimal(0))
    total_sold = sum((r.values[WON_AMOUNT.key] for r in rows), Decimal(0))
    totals = {WON_AMOUNT.key: total_sold, "quota": total_quota if any(r.values["quota"] is not None for r in rows) else None,
              "attainment": _percent(total_sold, total_quota)}
    return engine.Result(report=report, query=query, rows=rows, totals=totals, measures=report.measures,
                         group_label=dict(engine.group_choices(report)).get(query.group, query.group))


register(Report(
    "sales", "quota", _l("Sales against quota"), "opportunity",
    measures=[WON_AMOUNT, QUOTA, ATTAINMENT], groups=[OWNER, DEPARTMENT], chart_measures=[WON_AMOUNT.key, QUOTA.key],
    date_field="close_date", where=lambda m, p: [won(m)], quarter=True, compute=against_quota,
    description=_l("For one fiscal quarter: each salesperson's quota (set on the forecasts page), the won amount "
                   "closed in the quarter and the attainment. Only the quotas you may see are shown."),
    order=30,
))
