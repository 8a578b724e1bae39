"""An opportunity's child rows: product lines, contact roles, partners and competitors.

They are not owned records: they are reached only through their opportunity (read through its
visibility, changed by whoever may write it) and audited so the log names them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db
from ..owned import NEVER_REUSED_IDS


class OpportunityLine(db.Model):
    """A product on an opportunity: quantity × unit price less a discount (%)."""

    __tablename__ = "opportunity_lines"
    __audit_type__ = "opportunity_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        CheckConstraint("discount >= 0 AND discount <= 100", name="discount_percent"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    discount: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_label(self) -> str:
        """The label the log shows for this row."""
        return f"{self.quantity} × {self.unit_price}"


class OpportunityContactRole(db.Model):
    """A contact's part in the deal (decision maker, influencer…); one of them is the primary contact."""

    __tablename__ = "opportunity_contact_roles"
    __audit_type__ = "opportunity_contact_role"
    __table_args__ = (UniqueConstraint("opportunity_id", "contact_id"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_label(self) -> str:
        """The label the log shows for this row."""
        return self.role


class OpportunityPartner(db.Model):
    """A partner account working the deal with the owner."""

    __tablename__ = "opportunity_partners"
    __audit_type__ = "opportunity_partner"
    __table_args__ = (UniqueConstraint("opportunity_id", "account_id"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_label(self) -> str:
        """The label the log shows for this row."""
        return self.note or ""


class OpportunityCompetitor(db.Model):
    """A competitor met on the deal, with a note."""

    __tablename__ = "opportunity_competitors"
    __audit_type__ = "opportunity_competitor"
    __table_args__ = (UniqueConstraint("opportunity_id", "competitor_id"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id"), index=True)
    competitor_id: Mapped[int] = mapped_column(ForeignKey("competitors.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_label(self) -> str:
        """The label the log shows for this row."""
        return self.note or ""
