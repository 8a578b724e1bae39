"""The report registry: one small definition per report, grouped in families (SPEC §6).

A report names a record type of the record-type registry, the measures it computes (count, a sum, a
rate...), the fields it may be grouped by (the first is the default), the date field its period filter
applies to, and the conditions that pick its rows. The engine (`engine.py`) turns a definition and the
URL's filters into one aggregate query through the visibility rule; the pages, the exports and the
drill-down into the record list all read the same definition. A new report is one `register(Report(...))`.
A report the engine cannot express (days in stage, RFM) gives its own `compute`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.sql.elements import ColumnElement

# Group-by keys every report may offer besides the fields of its record type.
OWNER, DEPARTMENT, CLASS, MONTH, QUARTER = "owner", "department", "class", "month", "quarter"
SPECIAL_GROUPS = (OWNER, DEPARTMENT, CLASS, MONTH, QUARTER)


@dataclass(frozen=True)
class Measure:
    """One number per group: an aggregate SQL expression over the report's model."""

    key: str
    label: Any
    expr: Callable[[Any], ColumnElement[Any]]  # model -> aggregate expression
    kind: str = "number"  # number, money, percent, days: how the value is shown
    # An average or a rate cannot be added up over groups, but its numerator and denominator can: with
    # `parts` (model -> (numerator, denominator) aggregates) the engine reads them with the groups and
    # works out the total as scale × Σ numerator ÷ Σ denominator, instead of a second pass over every row.
    parts: Callable[[Any], tuple[ColumnElement[Any], ColumnElement[Any]]] | None = None
    scale: float = 1.0


def count_measure(label: Any = None) -> Measure:
    """The number of records."""
    from flask_babel import lazy_gettext as _l

    return Measure("count", label or _l("Count"), lambda m: func.count(m.id))


def sum_measure(attr: str, label: Any, kind: str = "money") -> Measure:
    """The sum of a field (0 for a group without values)."""
    return Measure(f"sum_{attr}", label, lambda m: func.coalesce(func.sum(getattr(m, attr)), 0), kind)


def avg_measure(attr: str, label: Any, kind: str = "money") -> Measure:
    """The average of a field over the records that have it."""
    return Measure(f"avg_{attr}", label, lambda m: func.avg(getattr(m, attr)), kind,
                   parts=lambda m: (func.sum(getattr(m, attr)), func.count(getattr(m, attr))))


def rate_measure(key: str, label: Any, part: Callable[[Any], ColumnElement[bool]],
                 whole: Callable[[Any], ColumnElement[bool]]) -> Measure:
    """The percentage of the `whole` records that are `part` (None when there are none)."""
    def expr(m: Any) -> ColumnElement[Any]:
        numerator = func.sum(case((part(m), 1), else_=0)) * 100.0
        return numerator / func.nullif(func.sum(case((whole(m), 1), else_=0)), 0)

    def parts(m: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        return func.sum(case((part(m), 1), else_=0)), func.sum(case((whole(m), 1), else_=0))
    return Measure(key, label, expr, "percent", parts=parts, scale=100.0)


@dataclass(frozen=True)
class Grouping:
    """A group-by the record's own fields cannot express: a joined table (the competitors an opportunity
    met) or a history (the stages an opportunity went through). Its key may sit in a report's `groups`."""

    key: str
    label: Any
    column: Callable[[Any], ColumnElement[Any]]  # model -> the group key (after `join`)
    condition: Callable[[Any, str], list[Any]]  # (model, key as URLs write it) -> the rows of one group
    labels: Callable[[list[Any]], dict[Any, str]]  # group keys -> labels in the reader's language
    join: Callable[[Any, Any], Any] | None = None  # (select, model) -> the select joined to the group's table


@dataclass
class Family:
    """A family of reports: one page (`/reports/<key>`) listing its reports."""

    key: str
    title: Any
    description: Any = ""
    order: int = 0
    icon: str = "bar-chart"
    # A family with a page of its own (customer analytics) instead of the generic report page.
    view: Callable[[], Any] | None = None


@dataclass
class Report:
    """One report: which records, which measures, grouped how."""

    family: str
    key: str
    title: Any
    record_type: str  # a name of the record-type registry ("opportunity")
    measures: list[Measure]
    groups: list[str]  # allowed group-bys, the default first: SPECIAL_GROUPS or fields of the type
    date_field: str = "created_at"  # the period filter's field
    where: Callable[[Any, dict[str, int]], list[Any]] | None = None  # (model, params) -> conditions
    params: dict[str, int] = field(default_factory=dict)  # integer parameters and defaults (days=30)
    param_labels: dict[str, Any] = field(default_factory=dict)
    chart: str = "bar"  # bar, line, pie, doughnut
    description: Any = ""
    mine_only: bool = False  # only the viewer's own records ("my accounts")
    # A report the engine cannot express: (report, query) -> engine.Result.
    compute: Callable[[Report, Any], Any] | None = None
    order: int = 0
    groupings: list[Grouping] = field(default_factory=list)  # group-bys over a joined table or a history
    # The report covers one fiscal quarter (`?quarter=2026-Q3`, default the current one) of its date field.
    quarter: bool = False
    # Measures the chart draws side by side (won against quota), instead of the one chosen in the URL.
    chart_measures: list[str] = field(default_factory=list)

    def grouping(self, key: str) -> Grouping | None:
        """The joined group-by called `key`, else None."""
        return next((g for g in self.groupings if g.key == key), None)

    @property
    def slug(self) -> str:
        """`family.key`: how URLs name the report."""
        return f"{self.family}.{self.key}"

    def measure(self, key: str | None) -> Measure:
        """The measure called `key`, else the first."""
        return next((m for m in self.measures if m.key == key), self.measures[0])


_FAMILIES: dict[str, Family] = {}
_REPORTS: dict[str, Report] = {}


def register_family(family: Family) -> Family:
    """Register a family (again: replaces it)."""
    _FAMILIES[family.key] = family
    return family


def register(report: Report) -> Report:
    """Register a report under `family.key` (again: replaces it)."""
    if not report.measures or not report.groups:
        raise ValueError(f"report {report.slug} needs at least one measure and one group")
    _REPORTS[report.slug] = report
    return report


def families() -> list[Family]:
    """Every family, in menu order."""
    return sorted(_FAMILIES.values(), key=lambda f: (f.order, f.key))


def family(key: str) -> Family | None:
    """The family called `key`, else None."""
    return _FAMILIES.get(key)


def reports_of(family_key: str) -> list[Report]:
    """A family's reports, in order."""
    return sorted((r for r in _REPORTS.values() if r.family == family_key), key=lambda r: (r.order, r.key))


def find(slug: str | None) -> Report | None:
    """The report called `family.key`, else None."""
    return _REPORTS.get(slug or "")


def all_reports() -> list[Report]:
    """Every report, by family and order."""
    return [r for f in families() for r in reports_of(f.key)]
