"""Customer analytics (/reports/customers): RFM segments, a lifetime-value ranking, segments saved as tags.

Both analyses read the WON opportunities the viewer may see (the engine's one WHERE: won stage, the
period of close dates, owner / department / class), grouped by an account the viewer may see, in one
aggregate query each; every SELECT here is an ORM select, so access.py adds the visibility rule to it.

- RFM: recency = days from the latest won close date to the reference day (today, or the period's end when
  it ends earlier), frequency = won deals, monetary = their amounts. Scores and segments: `rfm.py`.
  Won deals without a close date or without an account are left out (they cannot be placed in time, or
  belong to no customer).
- Lifetime value: margin of a won deal = Σ lines (line total after discount − quantity × product cost);
  a line whose product has no cost, and a deal without lines, earn the assumed margin % of their amount.
  value = average margin per deal × deals per year (deals ÷ years observed) × expected years. Years
  observed: the period's length; without a start date, from the first won deal shown to the reference
  day, counted as at least one year (one recent deal is not extrapolated into dozens a year).
- Saving a segment as a tag (`segment.save`): the tag is added, once, to every account of the segment
  the student may write, each through the account update service (each change logged), all in one operation.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from sqlalchemy import case, exists, func, select
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length

from .. import clock
from ..access import can_write, current_viewer, require_changer
from ..accounts.models import Account
from ..accounts.services import update_account
from ..boundary import attempt
from ..errors import NotAllowed, ServiceError
from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..opportunities.models import Opportunity
from ..opportunities.related_models import OpportunityLine
from ..products.models import Product
from ..records.services import acting_user
from . import bp, engine
from .engine import ReportInputError, ReportQuery, Result, Row
from .opportunities import won
from .registry import OWNER, Family, Measure, Report, find, register, reports_of
from .rfm import CENT, SEGMENT_ORDER, lifetime_value, segments

SEGMENT_LABELS: dict[str, Any] = {
    "important_value": _l("Important value"),
    "important_development": _l("Important development"),
    "important_retention": _l("Important retention"),
    "important_winback": _l("Important win-back"),
    "general_value": _l("General value"),
    "general_development": _l("General development"),
    "general_retention": _l("General retention"),
    "general_winback": _l("General win-back"),
}
# R, F, M high (H) or low (L) of each segment, as the page's legend prints it.
SEGMENT_CODES = {"important_value": "HHH", "important_development": "HLH", "important_retention": "LHH",
                 "important_winback": "LLH", "general_value": "HHL", "general_development": "HLL",
                 "general_retention": "LHL", "general_winback": "LLL"}
# The table shows at most this many accounts (the export has them all): 20,000 rows would not be read anyway.
MAX_ROWS = 200
DEFAULT_MARGIN = Decimal("20")  # % of the amount, for deals without product costs
DEFAULT_YEARS = Decimal("3")
TAG_MAX = 60
# One save changes at most this many accounts (each change is its own log entry): narrow the filters for more.
SAVE_CAP = 1000


def _no_sql(model: Any) -> Any:  # pragma: no cover - these reports compute their own rows
    raise NotImplementedError


def _measure(key: str, label: Any, kind: str = "number") -> Measure:
    return Measure(key, label, _no_sql, kind)


RFM_MEASURES = [_measure("last_won", _l("Last won")), _measure("recency", _l("Recency (days)")),
                _measure("frequency", _l("Frequency (won deals)")), _measure("monetary", _l("Monetary"), "money"),
                _measure("r", _l("R score")), _measure("f", _l("F score")), _measure("m", _l("M score")),
                _measure("segment", _l("Segment"), "text")]
CLV_MEASURES = [_measure("rank", _l("Rank")), _measure("deals", _l("Won deals")),
                _measure("costed", _l("Deals with product costs")),
                _measure("avg_margin", _l("Average margin per deal"), "money"),
                _measure("per_year", _l("Deals per year")), _measure("clv", _l("Lifetime value"), "money")]


# ---- the data ------------------------------------------------------------------------------------------
@dataclass(slots=True)
class CustomerRFM:
    """One account's recency, frequency, monetary value, scores and segment."""

    account_id: int
    name: str
    last_won: date
    recency: int
    frequency: int
    monetary: Decimal
    r: int = 0
    f: int = 0
    m: int = 0
    segment: str = ""

    @property
    def segment_label(self) -> str:
        """The segment in the reader's language."""
        return str(SEGMENT_LABELS[self.segment])


@dataclass
class CustomerValue:
    """One account's lifetime value and the figures it is made of."""

    account_id: int
    name: str
    deals: int
    costed: int  # deals with at least one line whose product has a cost
    margin_total: Decimal
    avg_margin: Decimal = Decimal("0")
    per_year: Decimal = Decimal("0")
    clv: Decimal = Decimal("0")
    rank: int = 0


@dataclass(frozen=True)
class Assumptions:
    """The editable assumptions of the lifetime-value ranking."""

    margin: Decimal  # % of a deal's amount when product costs do not tell
    years: Decimal  # expected years a customer keeps buying

    def args(self) -> dict[str, str]:
        """As URL arguments."""
        return {"margin": f"{self.margin.normalize():f}", "years": f"{self.years.normalize():f}"}


def reference_day(query: ReportQuery) -> date:
    """The day recency is counted to: today, or the end of the period when it ends before today."""
    today = clock.today()
    return min(today, query.date_to) if query.date_to else today


def _where(report: Report, query: ReportQuery) -> list[Any]:
    """Won deals of the period and people filters that have a close date (engine.conditions + that)."""
    return [*engine.conditions(report, query), Opportunity.close_date.is_not(None)]


@dataclass
class RFMSet:
    """Every account analysed, column by column (20,000 accounts for an instructor: rows become objects only when
    shown or exported)."""

    ids: list[int]
    names: list[str]
    last: list[date]
    recency: list[int]
    frequency: list[int]
    monetary: list[Decimal]
    scores: list[tuple[int, int, int, str]]  # R, F, M, segment

    def row(self, i: int) -> CustomerRFM:
        """The i-th account as a row."""
        r, f, m, segment = self.scores[i]
        return CustomerRFM(self.ids[i], self.names[i], self.last[i], self.recency[i], self.frequency[i],
                           self.monetary[i].quantize(CENT), r, f, m, segment)

    def ordered(self, segment: str | None = None, limit: int | None = None) -> list[CustomerRFM]:
        """The accounts (of one segment), by segment, the largest amount first, then by name."""
        order = {key: i for i, key in enumerate(SEGMENT_ORDER)}
        scores, monetary, names, ids = self.scores, self.monetary, self.names, self.ids
        chosen = [i for i in range(len(ids)) if segment is None or scores[i][3] == segment]

        def key(i: int) -> tuple[int, Decimal, str, int]:
            return order[scores[i][3]], -monetary[i], names[i], ids[i]

        picked = heapq.nsmallest(limit, chosen, key=key) if limit is not None else sorted(chosen, key=key)
        return [self.row(i) for i in picked]

    def summary(self) -> list[dict[str, Any]]:
        """Per segment: accounts, average recency and won deals, total amount (one pass)."""
        totals = {key: [0, 0, 0, Decimal("0.00")] for key in SEGMENT_ORDER}  # accounts, days, deals, amount
        for (_r, _f, _m, segment), days, deals, amount in zip(self.scores, self.recency, self.frequency,
                                                             self.monetary, strict=True):
            t = totals[segment]
            t[0] += 1
            t[1] += days
            t[2] += deals
            t[3] += amount
        return [{"key": key, "label": SEGMENT_LABELS[key], "code": SEGMENT_CODES[key], "count": n,
                 "monetary": amount.quantize(CENT), "recency": round(days / n, 1) if n else None,
                 "frequency": round(deals / n, 1) if n else None}
                for key, (n, days, deals, amount) in totals.items()]


def rfm_set(report: Report, query: ReportQuery) -> RFMSet:
    """Every account with a won deal under the filters, scored and segmented (one aggregate query)."""
    stmt = (select(Opportunity.account_id, Account.name, func.max(Opportunity.close_date).label("last"),
                   func.count(Opportunity.id).label("n"), func.coalesce(func.sum(Opportunity.amount), 0).label("amount"))
            .join(Account, Account.id == Opportunity.account_id)
            .where(*_where(report, query))
            .group_by(Opportunity.account_id, Account.name))
    ref = reference_day(query)
    rows = db.session.execute(stmt).all()
    ids, names, last, frequency, monetary = (list(column) for column in zip(*rows, strict=True)) if rows else (
        [], [], [], [], [])
    # A close date after the reference day (a deal won early, dated ahead) is as recent as can be: 0 days.
    recency = [max(0, (ref - day).days) for day in last]
    # Amounts come back as Decimal (SQLite's float sums too): they are rounded to the cent when shown.
    monetary = [Decimal(v) for v in monetary]
    return RFMSet(ids, names, last, recency, frequency, monetary, segments(recency, frequency, monetary))


def rfm_rows(report: Report, query: ReportQuery, segment: str | None = None) -> list[CustomerRFM]:
    """Every account with a won deal (of one segment), scored and segmented, in the table's order."""
    return rfm_set(report, query).ordered(segment)


def parse_segment(args: Any) -> str | None:
    """The segment the table is narrowed to (None: all); ReportInputError for an unknown one."""
    key = (args.get("segment") or "").strip()
    if not key:
        return None
    if key not in SEGMENT_LABELS:
        raise ReportInputError(_("“%(v)s” is not one of the choices.", v=key[:40]), "segment")
    return key


def _number(args: Any, key: str, default: Decimal, low: Decimal, high: Decimal, message: str) -> Decimal:
    raw = (args.get(key) or "").strip().replace(",", ".").rstrip("%").strip()
    if not raw:
        return default
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ReportInputError(message, key) from None
    if not value.is_finite() or value < low or value > high:
        raise ReportInputError(message, key)
    return value.quantize(Decimal("0.01"))


def parse_assumptions(args: Any) -> Assumptions:
    """The lifetime-value assumptions from the URL (defaults when absent); ReportInputError (400) for bad ones."""
    margin = _number(args, "margin", DEFAULT_MARGIN, Decimal(0), Decimal(100),
                     _("Give the assumed margin as a number from 0 to 100 (per cent of the amount)."))
    years = _number(args, "years", DEFAULT_YEARS, Decimal("0.01"), Decimal(100),
                    _("Give the expected years as a number more than 0 and at most 100."))
    return Assumptions(margin, years)


def observed_period(query: ReportQuery, first_won: date | None) -> tuple[date, date, Fraction]:
    """(first day, last day, length in years) the deals per year are counted over (see the module doc)."""
    end = reference_day(query)
    if query.date_from is not None:
        start = query.date_from
        days = max(1, (end - start).days + 1)
    else:
        start = first_won or end
        days = max(365, (end - start).days + 1)
    return start, end, Fraction(days, 365)


def value_rows(report: Report, query: ReportQuery, assumptions: Assumptions
               ) -> tuple[list[CustomerValue], tuple[date, date, Fraction]]:
    """Every account with a won deal, ranked by lifetime value, and the period observed."""
    where = _where(report, query)
    base = (select(Opportunity.account_id, Account.name, func.count(Opportunity.id).label("n"),
                   func.min(Opportunity.close_date).label("first"),
                   func.coalesce(func.sum(case((has_lines(), 0), else_=Opportunity.amount)), 0).label("plain"))
            .join(Account, Account.id == Opportunity.account_id)
            .where(*where).group_by(Opportunity.account_id, Account.name))
    line = OpportunityLine
    costed_margin = case((Product.cost.is_not(None), line.total - line.quantity * Product.cost), else_=0)
    lines = (select(Opportunity.account_id,
                    func.coalesce(func.sum(costed_margin), 0).label("margin"),
                    func.coalesce(func.sum(case((Product.cost.is_(None), line.total), else_=0)), 0).label("uncosted"),
                    func.count(func.distinct(case((Product.cost.is_not(None), Opportunity.id)))).label("costed"))
             .select_from(line).join(Opportunity, Opportunity.id == line.opportunity_id)
             .join(Account, Account.id == Opportunity.account_id)
             .outerjoin(Product, Product.id == line.product_id)
             .where(*where).group_by(Opportunity.account_id))
    by_account = {r.account_id: r for r in db.session.execute(lines)}
    share = assumptions.margin / 100
    rows, first_won = [], None
    for account_id, name, n, first, plain in db.session.execute(base):
        first = first if isinstance(first, date) else date.fromisoformat(str(first)[:10])
        first_won = first if first_won is None or first < first_won else first_won
        found = by_account.get(account_id)
        costed = Decimal(str(found.margin)) if found else Decimal(0)
        uncosted = Decimal(str(found.uncosted)) if found else Decimal(0)
        margin_total = costed + (uncosted + Decimal(str(plain))) * share
        rows.append(CustomerValue(account_id, name, int(n), int(found.costed) if found else 0, margin_total))
    period = observed_period(query, first_won)
    for row in rows:
        row.avg_margin, row.per_year, row.clv = lifetime_value(row.margin_total, row.deals, period[2], assumptions.years)
    rows.sort(key=lambda x: (-x.clv, -x.deals, x.name, x.account_id))
    for i, row in enumerate(rows, 1):
        row.rank = i
    return rows, period


def has_lines() -> Any:
    """SQL: the opportunity has product lines (its margin then comes from them)."""
    return exists(select(OpportunityLine.id).where(OpportunityLine.opportunity_id == Opportunity.id))


# ---- the reports (their export goes through the core's export route) -------------------------------------
def _account_url(account_id: int) -> str:
    return url_for("accounts.detail", record_id=account_id)


def rfm_result(report: Report, query: ReportQuery) -> Result:
    """The RFM table as an engine Result (what the export writes), narrowed to the URL's segment."""
    segment = parse_segment(request.args)
    rows = [Row(str(c.account_id), c.name, {
        "last_won": c.last_won.isoformat(), "recency": c.recency, "frequency": c.frequency, "monetary": c.monetary,
        "r": c.r, "f": c.f, "m": c.m, "segment": c.segment_label}, _account_url(c.account_id))
        for c in rfm_rows(report, query, segment)]
    return Result(report, query, rows, {"frequency": sum(r.values["frequency"] for r in rows),
                                        "monetary": sum((r.values["monetary"] for r in rows), Decimal("0.00"))},
                  report.measures, str(_("Account")))


def clv_result(report: Report, query: ReportQuery) -> Result:
    """The lifetime-value ranking as an engine Result (what the export writes)."""
    rows, _period = value_rows(report, query, parse_assumptions(request.args))
    out = [Row(str(v.account_id), v.name, {"rank": v.rank, "deals": v.deals, "costed": v.costed,
                                           "avg_margin": v.avg_margin, "per_year": v.per_year, "clv": v.clv},
               _account_url(v.account_id)) for v in rows]
    return Result(report, query, out, {"deals": sum(v.deals for v in rows),
                                       "clv": sum((v.clv for v in rows), Decimal("0.00"))},
                  report.measures, str(_("Account")))


RFM = register(Report(
    "customers", "rfm", _l("RFM segments"), "opportunity", measures=RFM_MEASURES, groups=[OWNER],
    date_field="close_date", where=lambda m, p: [won(m)], compute=rfm_result, order=10,
    description=_l("Accounts by the recency, frequency and monetary value of their won deals, in eight segments."),
))
CLV = register(Report(
    "customers", "clv", _l("Lifetime value"), "opportunity", measures=CLV_MEASURES, groups=[OWNER],
    date_field="close_date", where=lambda m, p: [won(m)], compute=clv_result, order=20,
    description=_l("Accounts ranked by average margin per deal × deals per year × expected years."),
))


# ---- saving a segment as a tag ---------------------------------------------------------------------------
class SegmentTagForm(FlaskForm):
    """Save one segment as a tag on its accounts."""

    segment = HiddenField(validators=[DataRequired()])
    tag = StringField(_l("Tag"), validators=[Length(max=TAG_MAX, message=_l("A tag has at most %(max)d characters."))])


class SegmentTarget:
    """A segment as the object of a `segment.save` entry: objectives count distinct segments saved."""

    __audit_type__ = "segment"

    def __init__(self, key: str) -> None:
        self.id = SEGMENT_ORDER.index(key) + 1  # a stable small number per segment (log_count counts subjects)
        self.audit_label = str(SEGMENT_LABELS[key])
        self.class_id = None


def default_tag(segment: str) -> str:
    """`RFM:重要价值客户` (the segment's name in the reader's language)."""
    return f"RFM:{SEGMENT_LABELS[segment]}"


def clean_tag(raw: str | None, segment: str) -> str:
    """The tag to add: the typed one (trimmed), else the default; ServiceError for one that cannot be a tag."""
    tag = " ".join((raw or "").split()) or default_tag(segment)
    if "," in tag or "，" in tag:
        raise ServiceError(_("A tag cannot contain a comma (commas separate an account's tags)."), "tag")
    if len(tag) > TAG_MAX:
        raise ServiceError(_("A tag has at most %(max)d characters.", max=TAG_MAX), "tag")
    return tag


def _tags(value: str | None) -> list[str]:
    return [t.strip() for t in (value or "").replace("，", ",").split(",") if t.strip()]


@operation("segment.save")
def save_segment(segment: str, tag: str, account_ids: list[int]) -> dict[str, int]:
    """Add `tag` to every account of `account_ids` the actor may write and that lacks it (one entry per change).

    Returns counts: tagged (changed now), already (had the tag), skipped (not writable, or no room left in the
    account's 300-character tags). Saving twice changes nothing the second time.
    """
    actor = acting_user()
    if not actor.can_change:
        raise NotAllowed("read-only")
    viewer = current_viewer()
    counts = {"tagged": 0, "already": 0, "skipped": 0}
    for start in range(0, len(account_ids), 500):
        chunk = account_ids[start:start + 500]
        for account in db.session.scalars(select(Account).where(Account.id.in_(chunk)).order_by(Account.id)):
            tags = _tags(account.tags)
            if tag in tags:
                counts["already"] += 1
                continue
            joined = ", ".join([*tags, tag])
            if not can_write(account, viewer) or len(joined) > 300:
                counts["skipped"] += 1
                continue
            update_account(account, {"tags": joined})
            counts["tagged"] += 1
    current_op().target(SegmentTarget(segment), segment=segment, tag=tag, count=counts["tagged"],
                        already=counts["already"], skipped=counts["skipped"])
    return counts


register_verbs({"segment.save": N_("saved the customer segment %(label)s as the tag %(tag)s on %(count)s accounts")})


# ---- the pages ------------------------------------------------------------------------------------------
def _chosen_report() -> Report:
    """The report the URL names (RFM by default); 404 for one this family does not have, as on the core page."""
    key = (request.args.get("report") or "rfm").strip().removeprefix("customers.")
    found = find(f"customers.{key}")
    if found is None:
        abort(404)
    return found


def _chart(summary: list[dict[str, Any]], query: ReportQuery, shown: list[CustomerRFM]) -> dict[str, Any]:
    args = {k: v for k, v in query.args().items() if k not in ("by", "measure")}
    return {
        "label": _("Accounts"),
        "labels": [str(SEGMENT_LABELS[k]) for k in SEGMENT_ORDER],
        "keys": list(SEGMENT_ORDER),
        "values": [s["count"] for s in summary],
        "links": [url_for("reports.family_page", family_key="customers", report="rfm", segment=k, **args)
                  for k in SEGMENT_ORDER],
        "axes": {"x": _("Recency (days)"), "y": _("Monetary")},
        "points": [{"x": c.recency, "y": float(c.monetary), "s": SEGMENT_ORDER.index(c.segment), "name": c.name,
                    "url": _account_url(c.account_id)} for c in shown],
    }


def customers_page(form: SegmentTagForm | None = None, status: int = 200) -> Any:
    """The customer analytics page: RFM segments or the lifetime-value ranking, with filters and export."""
    from .views import filter_choices

    fam = _customers_family()
    report = _chosen_report()
    error, query, assumptions, segment = None, None, parse_defaults(), None
    try:
        query = engine.parse(report, request.args)
        segment = parse_segment(request.args)
        assumptions = parse_assumptions(request.args)
    except ReportInputError as refused:
        error, status = refused, 400
    context: dict[str, Any] = {}
    if query is not None and error is None:
        if report is RFM:
            analysed = rfm_set(report, query)
            summary = analysed.summary()
            shown = analysed.ordered(segment, MAX_ROWS)
            total = sum(s["count"] for s in summary if segment is None or s["key"] == segment)
            context.update(rows=shown, total_rows=total, all_rows=len(analysed.ids), summary=summary,
                           chart=_chart(summary, query, shown), reference=reference_day(query))
        else:
            values, period = value_rows(report, query, assumptions)
            top = values[:10]
            context.update(values=values[:MAX_ROWS], total_rows=len(values), period=period,
                           period_years=round(float(period[2]), 2),
                           clv_chart={"label": _("Lifetime value"), "labels": [v.name for v in top],
                                      "values": [float(v.clv) for v in top],
                                      "links": [_account_url(v.account_id) for v in top]})
    args = {k: v for k, v in request.args.items() if k not in ("report", "lang")}
    return render_template(
        "reports/customers.html", family=fam, report=report, reports=reports_of("customers"), query=query,
        error=error, choices=filter_choices(report), segment=segment, assumptions=assumptions,
        segment_labels=SEGMENT_LABELS, segment_order=SEGMENT_ORDER, default_tag=default_tag,
        export_args={**(query.args() if query else {}), **args}, max_rows=MAX_ROWS,
        base_args={k: v for k, v in args.items() if k != "segment"},
        tag_form=form, can_save=_can_save(), **context,
    ), status


def parse_defaults() -> Assumptions:
    """The assumptions before the URL is read (shown when the URL's are refused)."""
    return Assumptions(DEFAULT_MARGIN, DEFAULT_YEARS)


def _can_save() -> bool:
    viewer = current_viewer()
    return not getattr(viewer, "is_readonly", True)


def _customers_family() -> Family:
    from .registry import family

    found = family("customers")
    assert found is not None  # registered in families.py before any request
    return found


@bp.post("/customers/segments")
def save_segment_tag() -> Any:
    """Save a segment (under the page's filters) as a tag on its accounts the student may write."""
    require_changer()
    form = SegmentTagForm()
    if not form.validate_on_submit():
        return customers_page(form, 400)
    try:
        query = engine.parse(RFM, request.args)
        segment = parse_segment({"segment": form.segment.data})
    except ReportInputError as refused:
        form.segment.errors = [*form.segment.errors, refused.message]
        return customers_page(form, 400)
    assert segment is not None
    with attempt(form, "tag") as outcome:
        tag = clean_tag(form.tag.data, segment)
        ids = [r.account_id for r in rfm_rows(RFM, query, segment)]
        if len(ids) > SAVE_CAP:
            raise ServiceError(_("This segment has %(n)d accounts; narrow it with the filters (owner, department, "
                                 "period) to at most %(cap)d before saving it as a tag.", n=len(ids), cap=SAVE_CAP),
                               "tag")
        counts = save_segment(segment, tag, ids)
    if outcome.failed:
        return customers_page(form, outcome.status)
    flash(ngettext("Tag “%(tag)s” added to %(num)d account.", "Tag “%(tag)s” added to %(num)d accounts.",
                   counts["tagged"], tag=tag) + (" " + _("%(n)d already had it; %(s)d could not be changed.",
                                                         n=counts["already"], s=counts["skipped"])
                                                  if counts["already"] or counts["skipped"] else ""), "success")
    args = {k: v for k, v in request.args.items() if k not in ("report", "segment")}
    return redirect(url_for("reports.family_page", family_key="customers", report="rfm", segment=segment, **args))

