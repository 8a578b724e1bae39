"""Quotas and submitted forecasts: one row per salesperson and fiscal quarter each.

Both are owned records (the owner is the salesperson they are about), so the one visibility rule
decides who reads them: the salesperson, the positions above them, the class's instructors. Neither
has a class sharing mode: classmates never read each other's quotas or forecasts.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Numeric
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db
from ..owned import Owned


class Quota(Owned, db.Model):
    """A salesperson's sales target for one fiscal quarter, set by a superior (or a scenario)."""

    __tablename__ = "quotas"
    __audit_type__ = "quota"
    __sharing_type__ = "quota"
    # A trainer's quotas survive a reset of the class: they are targets, not the students' work.
    __kept_on_reset__ = True

    fiscal_year: Mapped[int]
    quarter: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(Numeric(16, 2))

    @property
    def audit_label(self) -> str:
        """The quarter as the log shows it."""
        return f"{self.fiscal_year}-Q{self.quarter}"


class ForecastSubmission(Owned, db.Model):
    """A salesperson's forecast for one quarter as submitted: the figures at that moment, frozen.

    Submitting again replaces the figures (an update, logged with before and after), so an objective
    reads the log and a student sees their latest forecast against what actually closed.
    """

    __tablename__ = "forecast_submissions"
    __audit_type__ = "forecast"
    __sharing_type__ = "forecast"
    # The opportunity list is the snapshot itself; the log keeps the figures (before/after) and the params.
    __audit_ignore__ = frozenset({"detail"})

    fiscal_year: Mapped[int]
    quarter: Mapped[int]
    quota: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    closed_won: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    commit: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    best_case: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    pipeline: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=0)
    # The opportunities behind the figures: [{"id", "category", "amount"}], as they stood.
    detail: Mapped[list] = mapped_column(JSON, default=list)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_label(self) -> str:
        """The quarter as the log shows it."""
        return f"{self.fiscal_year}-Q{self.quarter}"
