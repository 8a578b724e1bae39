"""Running a report: the URL's filters, one aggregate query through the visibility rule, labelled rows.

`parse(report, args)` reads the filters (period, owner, department, class, group-by, measure, the
report's own parameters) and refuses what cannot be answered with a `ReportInputError` (400, the
message next to the field). `run(report, query)` answers the rows. `conditions(report, query)` is the
one WHERE of a report: the rows behind a number, the drill-down list and the export use the same.
Every query here is an ORM SELECT of the record model, so access.py adds the visibility rule to it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import url_for
from flask_babel import get_timezone
from flask_babel import gettext as _
from sqlalchemy import Date, Integer, case, cast, extract, func, literal, select

from ..access import Viewer, current_viewer
from ..codes.services import label as code_label
from ..errors import ServiceError
from ..extensions import db
from ..fiscal import Quarter, current_quarter, fiscal_start, parse_quarter, quarter_of
from ..numbers import DB_INT_MAX
from ..org.models import Position, PositionKind, User
from ..records import registry as record_types
from .registry import CLASS, DEPARTMENT, MONTH, OWNER, QUARTER, SPECIAL_GROUPS, Measure, Report

NONE_KEY = "~"  # the group of records without a value, in URLs
MAX_BUCKETS = 120  # months (or quarters) a time axis shows at most


class ReportInputError(ServiceError):
    """A filter the report cannot answer (an unknown group-by, an impossible period): 400."""


@dataclass
class ReportQuery:
    """The filters of one report view, as read from the URL."""

    group: str
    measure: str
    date_from: date | None = None
    date_to: date | None = None
    owner: int | None = None
    department: int | None = None
    class_id: int | None = None
    params: dict[str, int] = field(default_factory=dict)
    quarter: Quarter | None = None  # the fiscal quarter of a report that covers one (Report.quarter)
    # What one run works out once (the time axis), so labels, rows and totals do not query it again.
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def args(self) -> dict[str, str]:
        """The filters as URL arguments (what a bookmark, a drill-down or an export carries)."""
        out = {"by": self.group, "measure": self.measure}
        if self.date_from:
            out["from"] = self.date_from.isoformat()
        if self.date_to:
            out["to"] = self.date_to.isoformat()
        for key, value in (("owner", self.owner), ("department", self.department), ("class", self.class_id)):
            if value is not None:
                out[key] = str(value)
        out.update({k: str(v) for k, v in self.params.items()})
        if self.quarter is not None:
            out["quarter"] = self.quarter.key
        return out


@dataclass
class Row:
    """One group: its key (as URLs write it), its label and a value per measure."""

    key: str
    label: str
    values: dict[str, Any]
    drill: str | None = None


@dataclass
class Result:
    """A report's answer: rows in order, totals per measure where adding up makes sense."""

    report: Report
    query: ReportQuery
    rows: list[Row]
    totals: dict[str, Any] = field(default_factory=dict)
    measures: list[Measure] = field(default_factory=list)
    group_label: str = ""

    @property
    def chart_measure(self) -> Measure:
        """The measure the chart draws (the one chosen in the URL)."""
        return self.report.measure(self.query.measure)


# ---- reading the URL --------------------------------------------------------------------------------
def _day(args: Any, key: str) -> date | None:
    raw = (args.get(key) or "").strip()
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%d").date()
    except ValueError:
        raise ReportInputError(_("Dates are written YYYY-MM-DD; “%(v)s” is not one.", v=raw[:40]), key) from None


def _id(args: Any, key: str) -> int | None:
    raw = (args.get(key) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > DB_INT_MAX:
        raise ReportInputError(_("“%(v)s” is not one of the choices.", v=raw[:40]), key)
    return int(raw)


def group_choices(report: Report) -> list[tuple[str, str]]:
    """(key, label) of the group-bys the report offers."""
    names = {OWNER: _("Owner"), DEPARTMENT: _("Department"), CLASS: _("Class"), MONTH: _("Month"),
             QUARTER: _("Fiscal quarter")}
    names.update({g.key: str(g.label) for g in report.groupings})
    rt = record_types.get(report.record_type)
    return [(g, names[g] if g in names else rt.field_label(g)) for g in report.groups]


def _quarter(report: Report, args: Any) -> Quarter | None:
    """The fiscal quarter a quarterly report covers: `?quarter=2026-Q3`, else the current one."""
    if not report.quarter:
        return None
    raw = (args.get("quarter") or "").strip()
    if not raw:
        return current_quarter()
    found = parse_quarter(raw, fiscal_start())
    if found is None:
        raise ReportInputError(_("Write a fiscal quarter as YEAR-Q1 to YEAR-Q4, for example %(example)s; “%(v)s” is not one.",
                                 example=current_quarter().key, v=raw[:40]), "quarter")
    return found


def parse(report: Report, args: Any) -> ReportQuery:
    """The report's filters from the URL; ReportInputError for one it cannot answer."""
    group = (args.get("by") or report.groups[0]).strip()
    if group not in report.groups:
        raise ReportInputError(
            _("“%(v)s” is not a field this report can be grouped by; choose one of: %(choices)s.",
              v=group[:40], choices=", ".join(label for _k, label in group_choices(report))), "by")
    measure = (args.get("measure") or report.measures[0].key).strip()
    if measure not in {m.key for m in report.measures}:
        raise ReportInputError(_("“%(v)s” is not one of the choices.", v=measure[:40]), "measure")
    date_from, date_to = _day(args, "from"), _day(args, "to")
    if date_from and date_to and date_to < date_from:
        raise ReportInputError(_("The period ends before it starts: the “to” date must be on or after the “from” date."), "to")
    params = {}
    for key, default in report.params.items():
        raw = (args.get(key) or "").strip()
        if not raw:
            params[key] = default
        elif raw.isdigit() and 0 < int(raw) <= 36500:
            params[key] = int(raw)
        else:
            raise ReportInputError(_("Give a whole number between 1 and 36500."), key)
    return ReportQuery(group=group, measure=measure, date_from=date_from, date_to=date_to,
                       owner=_id(args, "owner"), department=_id(args, "department"), class_id=_id(args, "class"),
                       params=params, quarter=_quarter(report, args))


# ---- the one WHERE of a report ------------------------------------------------------------------------
def model_of(report: Report) -> Any:
    """The report's record model."""
    return record_types.model_of(report.record_type)


def _is_day_column(column: Any) -> bool:
    return isinstance(column.type, Date)


def _utc(day: date) -> datetime:
    """A local calendar day's start as the naive UTC time the database stores."""
    local = datetime(day.year, day.month, day.day, tzinfo=get_timezone())
    return local.astimezone(UTC).replace(tzinfo=None)


def _bound(column: Any, day: date) -> Any:
    return day if _is_day_column(column) else _utc(day)


def period_conditions(column: Any, start: date | None, end: date | None) -> list[Any]:
    """`start <= column < end + 1 day`, in local calendar days (stored times are UTC)."""
    where = []
    if start:
        where.append(column >= _bound(column, start))
    if end:
        where.append(column < _bound(column, end + timedelta(days=1)))
    return where


def department_members(department_id: int) -> Any:
    """The users placed on a department position or below it (a subquery of ids)."""
    path = select(Position.path).where(Position.id == department_id).scalar_subquery()
    below = select(Position.id).where(Position.path.startswith(path))
    return select(User.id).where(User.position_id.in_(below))


def conditions(report: Report, query: ReportQuery) -> list[Any]:
    """The rows a report counts under these filters (visibility is added by access.py)."""
    model = model_of(report)
    where: list[Any] = list(report.where(model, query.params) if report.where else [])
    if report.mine_only:
        viewer = current_viewer()
        where.append(model.owner_id == (viewer.user_id if isinstance(viewer, Viewer) else -1))
    where += period_conditions(getattr(model, report.date_field), query.date_from, query.date_to)
    if query.quarter is not None:
        where += period_conditions(getattr(model, report.date_field), query.quarter.first_day, query.quarter.last_day)
    return where + people_conditions(model, query)


def people_conditions(model: Any, query: ReportQuery) -> list[Any]:
    """The owner, department and class filters over any owned model (a report also reads quotas)."""
    where = []
    if query.owner is not None:
        where.append(model.owner_id == query.owner)
    if query.department is not None:
        where.append(model.owner_id.in_(department_members(query.department)))
    if query.class_id is not None:
        where.append(model.class_id == query.class_id)
    return where


# ---- time axes ----------------------------------------------------------------------------------------
def _month_starts(first: date, last: date) -> list[date]:
    out, day = [], date(first.year, first.month, 1)
    while day <= last and len(out) < MAX_BUCKETS:
        out.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def _quarters(first: date, last: date) -> list[Quarter]:
    out, q = [], quarter_of(first, fiscal_start())
    while q.first_day <= last and len(out) < MAX_BUCKETS:
        out.append(q)
        q = q.next()
    return out


def _span(report: Report, query: ReportQuery, found: tuple[Any, Any] | None = None) -> tuple[date, date] | None:
    """The period a time axis covers: the filter's, or from the first to the last record (`found`: the
    first and last day already known from the rows, which spares a query)."""
    model = model_of(report)
    column = getattr(model, report.date_field)
    first, last = query.date_from, query.date_to
    if first is None or last is None:
        low, high = found or db.session.execute(
            select(func.min(column), func.max(column)).where(*conditions(report, query))).one()
        if low is None:
            return None
        to_day = (lambda v: v) if _is_day_column(column) else (
            lambda v: v.replace(tzinfo=UTC).astimezone(get_timezone()).date())
        first = first or to_day(low)
        last = last or to_day(high)
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_BUCKETS:
        first = date(last.year - MAX_BUCKETS // 12 + 1, last.month, 1)  # the latest ten years
    return first, last


def time_buckets(report: Report, query: ReportQuery,
                 found: tuple[Any, Any] | None = None) -> list[tuple[str, str, date, date]]:
    """(key, label, first day, day after) of each month or fiscal quarter of the report's period."""
    memo = query.memo.get("buckets")
    if memo is not None and memo[0] == query.group:
        return memo[1]
    buckets = _time_buckets(report, query, found)
    query.memo["buckets"] = (query.group, buckets)
    return buckets


def _time_buckets(report: Report, query: ReportQuery,
                  found: tuple[Any, Any] | None) -> list[tuple[str, str, date, date]]:
    span = _span(report, query, found)
    if span is None:
        return []
    first, last = span
    if query.group == MONTH:
        starts = _month_starts(first, last)
        nexts = [*starts[1:], date(starts[-1].year + starts[-1].month // 12, starts[-1].month % 12 + 1, 1)]
        return [(f"{s:%Y-%m}", f"{s:%Y-%m}", s, n) for s, n in zip(starts, nexts, strict=True)]
    return [(q.key, _("FY%(year)s Q%(q)s", year=q.year, q=q.quarter), q.first_day, q.end)
            for q in _quarters(first, last)]


def _calendar_key(column: Any, group: str) -> Any:
    """A calendar day column's month (`year * 100 + month`) or fiscal quarter (`year * 10 + quarter`) as
    one integer, computed by the database: one GROUP BY instead of a CASE over every bucket."""
    # Integers on both databases (PostgreSQL's EXTRACT is numeric), so "// 3" divides as integers.
    year, month = cast(extract("year", column), Integer), cast(extract("month", column), Integer)
    if group == MONTH:
        return year * 100 + month
    start = fiscal_start()
    fiscal_year = year - case((month < start, 1), else_=0)
    # (month - start + 12) % 12 is the month's place in the fiscal year, 0-11; integer division by 3.
    return fiscal_year * 10 + (month - start + 12) % 12 // 3 + 1


def _calendar_bucket(group: str, key: int, start: int) -> tuple[str, date]:
    """The URL key and first day of a `_calendar_key` value."""
    if group == MONTH:
        day = date(key // 100, key % 100, 1)
        return f"{day:%Y-%m}", day
    q = Quarter(key // 10, key % 10, start)
    return q.key, q.first_day


def _bucket_expression(report: Report, buckets: list[tuple[str, str, date, date]]) -> Any:
    column = getattr(model_of(report), report.date_field)
    whens = [((column >= _bound(column, start)) & (column < _bound(column, end)), literal(key))
             for key, _label, start, end in buckets]
    return case(*whens, else_=literal(None))


def group_condition(report: Report, query: ReportQuery, key: str) -> list[Any]:
    """The rows of one group (`key` as URLs write it): what a drill-down adds to the report's WHERE."""
    model = model_of(report)
    grouping = report.grouping(query.group)
    if grouping is not None:
        return grouping.condition(model, key)
    if query.group in (MONTH, QUARTER):
        bucket = next((b for b in time_buckets(report, query) if b[0] == key), None)
        if bucket is None:
            raise ReportInputError(_("“%(v)s” is not one of the choices.", v=key[:40]), "value")
        return period_conditions(getattr(model, report.date_field), bucket[2], bucket[3] - timedelta(days=1))
    if query.group == DEPARTMENT:
        if not key.isdigit() or int(key) > DB_INT_MAX:
            raise ReportInputError(_("“%(v)s” is not one of the choices.", v=key[:40]), "value")
        return [model.owner_id.in_(department_members(int(key)))]
    column = model.owner_id if query.group == OWNER else model.class_id if query.group == CLASS else getattr(model, query.group)
    if key == NONE_KEY:
        return [column.is_(None)]
    if query.group in (OWNER, CLASS):
        if not key.isdigit() or int(key) > DB_INT_MAX:
            raise ReportInputError(_("“%(v)s” is not one of the choices.", v=key[:40]), "value")
        return [column == int(key)]
    return [column == key]


# ---- running ----------------------------------------------------------------------------------------
def _departments_of(owner_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Owner id -> (department position id, name): the department position at or above the owner's."""
    if not owner_ids:
        return {}
    users = db.session.execute(select(User.id, Position.path).join(Position, User.position_id == Position.id)
                               .where(User.id.in_(owner_ids))).all()
    ancestor_ids = {int(p) for _u, path in users for p in path.strip("/").split("/") if p.isdigit()}
    departments = dict(db.session.execute(select(Position.id, Position.name).where(
        Position.id.in_(ancestor_ids), Position.kind == PositionKind.DEPARTMENT)).all())
    out = {}
    for uid, path in users:
        found = [int(p) for p in path.strip("/").split("/") if p.isdigit() and int(p) in departments]
        if found:
            out[uid] = (found[-1], departments[found[-1]])
    return out


def departments_of(owner_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Owner id -> (department position id, name), for reports that fold owners into departments themselves."""
    return _departments_of(owner_ids)


def group_labels(report: Report, group: str, keys: list[Any]) -> dict[Any, str]:
    """Group key -> label in the reader's language (owners' names, code labels...)."""
    return _labels(report, group, keys)


def _labels(report: Report, group: str, keys: list[Any]) -> dict[Any, str]:
    real = [k for k in keys if k is not None]
    grouping = report.grouping(group)
    if grouping is not None:
        return grouping.labels(real)
    if group == OWNER:
        return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(real))).all())
    if group == CLASS:
        return dict(db.session.execute(select(Position.id, Position.name).where(Position.id.in_(real))).all())
    rt = record_types.get(report.record_type)
    if group in rt.codes:
        return {k: code_label(rt.codes[group], k) for k in real}
    return {k: str(k) for k in real}


def _value(measure: Measure, raw: Any) -> Any:
    if raw is None:
        return None
    if measure.kind in ("percent", "days"):
        return round(float(raw), 1)
    if measure.kind == "money":
        return Decimal(str(raw)).quantize(Decimal("0.01"))
    if isinstance(raw, Decimal) and raw == raw.to_integral_value():
        return int(raw)
    return raw


def _merge(measure: Measure, values: list[Any]) -> Any:
    """A measure of several groups folded into one (departments): sums and counts add up."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    if measure.kind in ("percent", "days") or measure.key.startswith("avg_"):
        return None  # a rate of rates is not a rate: departments need additive measures
    return sum(present)


def aggregate(report: Report, query: ReportQuery) -> list[tuple[Any, dict[str, Any]]]:
    """(group key, {measure: value}) for each group with rows, in the group's natural order."""
    model = model_of(report)
    where = conditions(report, query)
    grouping = report.grouping(query.group)
    if grouping is not None:
        key_expr = grouping.column(model)
    elif query.group in (MONTH, QUARTER) and _is_day_column(getattr(model, report.date_field)):
        return _calendar_aggregate(report, query, where)
    elif query.group in (MONTH, QUARTER):
        buckets = time_buckets(report, query)
        if not buckets:
            return []
        key_expr = _bucket_expression(report, buckets)
    elif query.group in (OWNER, DEPARTMENT):
        key_expr = model.owner_id
    elif query.group == CLASS:
        key_expr = model.class_id
    else:
        key_expr = getattr(model, query.group)
    # A measure with parts is read as its numerator and denominator (its value follows in Python): the
    # database evaluates each per-row expression once, and the totals need no second pass.
    exprs = [m.expr(model).label(m.key) for m in report.measures if m.parts is None] + _part_columns(report, model)
    stmt = select(key_expr.label("k"), *exprs)
    if grouping is not None and grouping.join is not None:
        stmt = grouping.join(stmt, model)
    stmt = stmt.where(*where).group_by(key_expr)
    keys = [m.key for m in report.measures if m.parts is None] + _part_keys(report)
    raw = [(row.k, _with_ratios(report, {k: getattr(row, k) for k in keys})) for row in db.session.execute(stmt)]
    if query.group == DEPARTMENT:
        departments = _departments_of([k for k, _v in raw if k is not None])
        folded: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for owner_id, values in raw:
            folded[departments.get(owner_id, (None, ""))[0]].append(values)
        parts = _part_keys(report)
        return [(k, {**{m.key: _merge(m, [v[m.key] for v in vs]) for m in report.measures},
                     **{p: sum(v[p] or 0 for v in vs) for p in parts}}) for k, vs in folded.items()]
    if query.group in (MONTH, QUARTER):
        by_key = dict(raw)
        # Every bucket of the axis appears, empty ones as zero, so a line chart keeps its time scale.
        return [(b[0], by_key.get(b[0], {m.key: 0 if m.kind in ("number", "money") else None for m in report.measures}))
                for b in time_buckets(report, query)]
    return raw


def _part_keys(report: Report) -> list[str]:
    return [f"{m.key}__{side}" for m in report.measures if m.parts is not None for side in ("n", "d")]


def _part_columns(report: Report, model: Any) -> list[Any]:
    columns = []
    for m in report.measures:
        if m.parts is not None:
            numerator, denominator = m.parts(model)
            columns += [numerator.label(f"{m.key}__n"), denominator.label(f"{m.key}__d")]
    return columns


def _ratio(m: Measure, numerator: Any, denominator: Any) -> Any:
    """scale × numerator ÷ denominator as the SQL expression computes it (None without a denominator)."""
    if numerator is None or not denominator:
        return None
    if m.kind in ("percent", "days"):
        return m.scale * float(numerator) / float(denominator)
    return Decimal(str(numerator)) * Decimal(str(m.scale)) / Decimal(str(denominator))


def _with_ratios(report: Report, values: dict[str, Any]) -> dict[str, Any]:
    for m in report.measures:
        if m.parts is not None:
            values[m.key] = _ratio(m, values[f"{m.key}__n"], values[f"{m.key}__d"])
    return values


def _totals_from_parts(report: Report, raw: list[tuple[Any, dict[str, Any]]]) -> dict[str, Any]:
    """Totals of the averages and rates from the groups' numerators and denominators (every row is in
    exactly one group here), as the one-pass query over all rows would give them."""
    totals: dict[str, Any] = {}
    for m in report.measures:
        if m.parts is None:
            continue
        numerator = sum((Decimal(str(v[f"{m.key}__n"])) for _k, v in raw if v[f"{m.key}__n"] is not None),
                        Decimal(0))
        denominator = sum((Decimal(str(v[f"{m.key}__d"])) for _k, v in raw if v[f"{m.key}__d"] is not None),
                          Decimal(0))
        totals[m.key] = _value(m, _ratio(m, numerator, denominator))
    return totals


def _calendar_aggregate(report: Report, query: ReportQuery, where: list[Any]) -> list[tuple[Any, dict[str, Any]]]:
    """Months or fiscal quarters of a calendar day column (a close date): the database groups by the
    period's number; the axis spans the rows found (or the filter's period), empty periods as zero."""
    model = model_of(report)
    key_expr = _calendar_key(getattr(model, report.date_field), query.group)
    stmt = select(key_expr.label("k"), *[m.expr(model).label(m.key) for m in report.measures])
    rows = db.session.execute(stmt.where(*where).group_by(key_expr)).all()
    start = fiscal_start()
    by_key = {}
    for row in rows:
        if row.k is not None:
            key, first = _calendar_bucket(query.group, int(row.k), start)
            by_key[key] = (first, {m.key: getattr(row, m.key) for m in report.measures})
    firsts = [first for first, _values in by_key.values()]
    buckets = time_buckets(report, query, (min(firsts), max(firsts)) if firsts else (None, None))
    empty = {m.key: 0 if m.kind in ("number", "money") else None for m in report.measures}
    return [(b[0], by_key[b[0]][1] if b[0] in by_key else empty) for b in buckets]


def run(report: Report, query: ReportQuery) -> Result:
    """The report's rows (labelled, with drill-down links) and totals."""
    if report.compute is not None:
        return report.compute(report, query)
    raw = aggregate(report, query)
    rt = record_types.get(report.record_type)
    if query.group in (MONTH, QUARTER):
        labels = {b[0]: b[1] for b in time_buckets(report, query)}
    elif query.group == DEPARTMENT:
        labels = {d: name for d, name in _departments_of_all(report, query).values()}
    else:
        labels = _labels(report, query.group, [k for k, _v in raw])
    rows = []
    for key, values in raw:
        url_key = NONE_KEY if key is None else str(key)
        label = labels.get(key) if key is not None else None
        rows.append(Row(key=url_key, label=label or _("(none)"),
                        values={m.key: _value(m, values[m.key]) for m in report.measures},
                        drill=drill_url(report, query, url_key, rt.blueprint)))
    if query.group not in (MONTH, QUARTER):
        chosen = report.measure(query.measure)
        rows.sort(key=lambda r: (r.values[chosen.key] is None, -(r.values[chosen.key] or 0), r.label))
    totals = {m.key: _merge(m, [r.values[m.key] for r in rows]) for m in report.measures}
    if report.grouping(query.group) is not None:
        # A record may sit in several groups of a joined table (a deal met two competitors): count it once.
        totals = {m.key: None for m in report.measures}
    from_parts: dict[str, Any] = {}
    if report.grouping(query.group) is None and query.group not in (MONTH, QUARTER):
        # Every row lies in exactly one group (time axes may leave rows outside their buckets): the averages
        # and rates total up from their parts, without a second pass over the rows.
        from_parts = _totals_from_parts(report, raw)
        totals.update(from_parts)
    missing = [m for m in report.measures if totals[m.key] is None and m.key not in from_parts]
    if missing and rows:
        totals.update(_overall(report, query, missing))
    label = dict(group_choices(report)).get(query.group, query.group)
    return Result(report=report, query=query, rows=rows, totals=totals, measures=report.measures, group_label=label)


def _departments_of_all(report: Report, query: ReportQuery) -> dict[int, tuple[int, str]]:
    model = model_of(report)
    owners = list(db.session.scalars(select(model.owner_id).where(*conditions(report, query)).distinct()))
    return _departments_of(owners)


def _overall(report: Report, query: ReportQuery, measures: list[Measure]) -> dict[str, Any]:
    """Rates and averages over all the report's rows (they cannot be added up from the groups), in one query."""
    model = model_of(report)
    row = db.session.execute(select(*[m.expr(model).label(m.key) for m in measures])
                             .where(*conditions(report, query))).one()
    return {m.key: _value(m, getattr(row, m.key)) for m in measures}


def drill_url(report: Report, query: ReportQuery, key: str, blueprint: str | None = None) -> str:
    """The record list filtered exactly as this group of the report."""
    blueprint = blueprint or record_types.get(report.record_type).blueprint
    return url_for(f"{blueprint}.index", report=report.slug, value=key, **query.args())


def drill_conditions(model: Any, args: Any) -> tuple[list[Any], str | None]:
    """The WHERE of a drill-down list (`?report=…&value=…`) and what it shows, in words; ([], None) otherwise."""
    from .registry import find

    report = find(args.get("report"))
    if report is None or model_of(report) is not model:
        return [], None
    query = parse(report, args)
    key = (args.get("value") or "").strip()
    where = conditions(report, query)
    if not key:
        return where, str(report.title)
    where += group_condition(report, query, key)
    return where, f"{report.title} · {_group_value_label(report, query, key)}"


def _group_value_label(report: Report, query: ReportQuery, key: str) -> str:
    if key == NONE_KEY:
        return _("(none)")
    if query.group in (MONTH, QUARTER):
        return next((b[1] for b in time_buckets(report, query) if b[0] == key), key)
    if query.group == DEPARTMENT:
        return db.session.scalar(select(Position.name).where(Position.id == int(key))) or key
    digits = key.isdigit() and int(key) <= DB_INT_MAX
    parsed: Any = int(key) if query.group in (OWNER, CLASS) or (report.grouping(query.group) and digits) else key
    return _labels(report, query.group, [parsed]).get(parsed, key)


__all__ = ["SPECIAL_GROUPS", "ReportInputError", "ReportQuery", "Result", "Row", "aggregate", "conditions",
           "departments_of", "drill_conditions", "drill_url", "group_choices", "group_labels", "parse", "people_conditions",
           "period_conditions", "run"]
