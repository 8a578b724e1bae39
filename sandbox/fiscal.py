"""Fiscal quarters: the organisation profile's fiscal year start decides which months form a quarter.

A fiscal year is named by the calendar year in which it **starts** (a year starting in April 2026 is
FY2026, April 2026 – March 2027). Quarter 1 begins in the start month. Everything here is pure date
arithmetic; `fiscal_start()` reads the profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select


@dataclass(frozen=True, order=True)
class Quarter:
    """One fiscal quarter: `year` is the fiscal year (named by the year it starts in), `quarter` 1–4."""

    year: int
    quarter: int
    start_month: int = 1

    @property
    def first_day(self) -> date:
        """The quarter's first day."""
        months = self.year * 12 + (self.start_month - 1) + (self.quarter - 1) * 3
        return date(months // 12, months % 12 + 1, 1)

    @property
    def end(self) -> date:
        """The day after the quarter's last day (half-open: first_day <= d < end)."""
        return self.next().first_day

    @property
    def last_day(self) -> date:
        """The quarter's last day."""
        return date.fromordinal(self.end.toordinal() - 1)

    @property
    def key(self) -> str:
        """`2026-Q3`, as URLs and forms write it."""
        return f"{self.year}-Q{self.quarter}"

    def next(self) -> Quarter:
        """The following quarter."""
        if self.quarter == 4:
            return Quarter(self.year + 1, 1, self.start_month)
        return Quarter(self.year, self.quarter + 1, self.start_month)

    def previous(self) -> Quarter:
        """The quarter before."""
        if self.quarter == 1:
            return Quarter(self.year - 1, 4, self.start_month)
        return Quarter(self.year, self.quarter - 1, self.start_month)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first_day <= day < self.end


def quarter_of(day: date, start_month: int = 1) -> Quarter:
    """The fiscal quarter holding `day` when the fiscal year starts in `start_month` (1–12)."""
    if not 1 <= start_month <= 12:
        raise ValueError(f"fiscal year start month must be 1-12, not {start_month}")
    offset = (day.month - start_month) % 12
    year = day.year if day.month >= start_month else day.year - 1
    return Quarter(year, offset // 3 + 1, start_month)


def parse_quarter(text: str, start_month: int = 1) -> Quarter | None:
    """`2026-Q3` (or `2026Q3`, `2026-3`) as a Quarter, None when it is not one."""
    raw = (text or "").strip().upper().replace("Q", "-").replace("--", "-")
    parts = raw.split("-")
    if len(parts) != 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    year, quarter = int(parts[0]), int(parts[1])
    if not (1900 <= year <= 9999 and 1 <= quarter <= 4):
        return None
    return Quarter(year, quarter, start_month)


def fiscal_start() -> int:
    """The organisation profile's fiscal year start month (1 when no profile exists)."""
    from .extensions import db
    from .org.models import Organization

    month = db.session.scalar(select(Organization.fiscal_year_start).limit(1))
    return month if month and 1 <= month <= 12 else 1


def current_quarter() -> Quarter:
    """The fiscal quarter of today (in the configured time zone)."""
    from .clock import today

    return quarter_of(today(), fiscal_start())
