"""The lead: a prospect not yet qualified into an account, contact and opportunity."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from ..codes.services import register_usage
from ..extensions import db
from ..owned import Owned


class Lead(Owned, db.Model):
    """A prospect not yet qualified (线索)."""

    __tablename__ = "leads"
    __audit_type__ = "lead"

    name: Mapped[str] = mapped_column(String(100))
    company: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(50))
    mobile: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(255))
    address: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40), default="new")
    rating: Mapped[str | None] = mapped_column(String(40))
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    employees: Mapped[int | None]
    description: Mapped[str | None] = mapped_column(String(4000))
    # The campaign that produced it (a converted lead passes it on to the opportunity).
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    converted_at: Mapped[datetime | None]
    # What the conversion produced (links both ways: those records point back through these).
    converted_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    converted_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    converted_opportunity_id: Mapped[int | None] = mapped_column(ForeignKey("opportunities.id"), index=True)

    @property
    def audit_label(self) -> str:
        """The lead as the log and pickers name it (name · company)."""
        return f"{self.name} · {self.company}" if self.company else self.name

    @property
    def is_converted(self) -> bool:
        """Whether the lead was converted (it is then read-only)."""
        return self.status == "converted"

    @property
    def is_read_only(self) -> bool:
        """Whether the lead no longer changes (converted)."""
        return self.is_converted


for _field, _table in (("status", "lead_status"), ("source", "lead_source"), ("industry", "industry"),
                       ("rating", "rating")):
    register_usage(_table, "lead", _field)
