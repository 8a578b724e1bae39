"""The campaign (市场拓广) and its members: leads and contacts, each with a response status."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..codes.services import register_usage
from ..extensions import db
from ..owned import NEVER_REUSED_IDS, Owned


class Campaign(Owned, db.Model):
    """A marketing campaign: type, status, dates, budget, expected revenue and actual cost (SPEC §5.10)."""

    __tablename__ = "campaigns"
    __audit_type__ = "campaign"

    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40), default="planned")
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    budget: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    expected_revenue: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    actual_cost: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    expected_response: Mapped[int | None]  # percent of members expected to respond
    audience: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(String(4000))

    @property
    def audit_label(self) -> str:
        """The name, as the log shows it."""
        return self.name


class CampaignMember(db.Model):
    """A lead or a contact in a campaign with its response status; visible exactly when its campaign is.

    Exactly one of lead_id and contact_id is set; a person is in a campaign once.
    """

    __tablename__ = "campaign_members"
    __audit_type__ = "campaign_member"
    __table_args__ = (
        UniqueConstraint("campaign_id", "lead_id", name="uq_campaign_members_lead"),
        UniqueConstraint("campaign_id", "contact_id", name="uq_campaign_members_contact"),
        CheckConstraint("(lead_id IS NULL) <> (contact_id IS NULL)", name="one_member"),
        Index("ix_campaign_members_campaign_status", "campaign_id", "status"),
        NEVER_REUSED_IDS,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    status: Mapped[str] = mapped_column(String(40), default="planned")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None]

    @property
    def audit_label(self) -> str:
        """The member as the log names it."""
        return f"{'lead' if self.lead_id else 'contact'} {self.lead_id or self.contact_id}"


for _field, _table in (("type", "campaign_type"), ("status", "campaign_status")):
    register_usage(_table, "campaign", _field)
register_usage("member_status", "campaign_member", "status")
