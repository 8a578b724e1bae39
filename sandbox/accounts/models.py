"""The account: a company that buys, partners or resells."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from ..codes.services import register_usage
from ..extensions import db
from ..owned import Owned


class Account(Owned, db.Model):
    """A company students sell to (客户)."""

    __tablename__ = "accounts"
    __audit_type__ = "account"
    __label_column__ = "name"  # audit_label is this column: a page reads the label without the row
    __sharing_type__ = "account"

    name: Mapped[str] = mapped_column(String(200), index=True)
    type: Mapped[str | None] = mapped_column(String(40))
    industry: Mapped[str | None] = mapped_column(String(40))
    rating: Mapped[str | None] = mapped_column(String(40))
    level: Mapped[str | None] = mapped_column(String(40))
    ownership: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(50))
    fax: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(255))
    billing_address: Mapped[str | None] = mapped_column(String(300))
    shipping_address: Mapped[str | None] = mapped_column(String(300))
    employees: Mapped[int | None]
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    tags: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(String(4000))

    @property
    def audit_label(self) -> str:
        """The account as the log and pickers name it."""
        return self.name


for _field, _table in (("type", "account_type"), ("industry", "industry"), ("rating", "rating"),
                       ("level", "account_level"), ("ownership", "ownership"), ("source", "lead_source")):
    register_usage(_table, "account", _field)
