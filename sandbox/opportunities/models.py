"""The opportunity and its stage history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..codes.services import register_usage
from ..extensions import db
from ..org.models import User
from ..owned import NEVER_REUSED_IDS, Owned


class Opportunity(Owned, db.Model):
    """A deal with an account: stage, amount, close date."""

    __tablename__ = "opportunities"
    __audit_type__ = "opportunity"
    __label_column__ = "name"  # audit_label is this column: a page reads the label without the row
    __sharing_type__ = "opportunity"

    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    type: Mapped[str | None] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(40), default="prospecting")
    probability: Mapped[int] = mapped_column(default=10)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    close_date: Mapped[date | None]
    next_step: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(40))
    lost_reason: Mapped[str | None] = mapped_column(String(40))
    # pipeline / best_case / commit / omitted; None follows the stage (forecasts/categories.py).
    forecast_category: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(String(4000))
    # The campaign that produced it (a converted lead passes it on to the opportunity).
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    closed_at: Mapped[datetime | None]

    history: Mapped[list[StageHistory]] = relationship(
        back_populates="opportunity", order_by="StageHistory.changed_at", cascade="all, delete-orphan"
    )

    @property
    def audit_label(self) -> str:
        """The name as the log shows it."""
        return self.name


class StageHistory(db.Model):
    """One stage change: who, when, from, to (days in stage are computed from the next change)."""

    __tablename__ = "opportunity_stage_history"
    __audit_type__ = "stage_history"
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(40))
    to_stage: Mapped[str] = mapped_column(String(40))
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    opportunity: Mapped[Opportunity] = relationship(back_populates="history")
    changed_by: Mapped[User | None] = relationship()

    @property
    def audit_label(self) -> str:
        """The move (from → to) as the log shows it."""
        return f"{self.from_stage or '∅'} → {self.to_stage}"


for _field, _table in (("stage", "opportunity_stage"), ("type", "opportunity_type"), ("source", "lead_source"),
                       ("lost_reason", "closed_lost_reason"), ("forecast_category", "forecast_category")):
    register_usage(_table, "opportunity", _field)
