"""The product category tree and the product (one catalogue per class)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from ..clock import utcnow
from ..extensions import db
from ..owned import NEVER_REUSED_IDS, Owned


class ProductCategory(db.Model):
    """A node of a class's category tree (not an owned record: staff maintain it for the class)."""

    __tablename__ = "product_categories"
    __audit_type__ = "product_category"
    __table_args__ = (NEVER_REUSED_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("product_categories.id"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("positions.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_label(self) -> str:
        """The label the log shows."""
        return self.name


class Product(Owned, db.Model):
    """A product of one class's catalogue (code unique in the class), picked on opportunity lines."""

    __tablename__ = "products"
    __audit_type__ = "product"
    __class_readable__ = True

    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("product_categories.id"), index=True)
    unit: Mapped[str | None] = mapped_column(String(20))
    list_price: Mapped[Decimal] = mapped_column(Numeric(16, 2), default=Decimal("0"))
    cost: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    active: Mapped[bool] = mapped_column(default=True)
    stock_on_hand: Mapped[int] = mapped_column(default=0)
    reorder_level: Mapped[int] = mapped_column(default=0)
    description: Mapped[str | None] = mapped_column(String(4000))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        # Owned's list indexes, plus: a code names one product within a class.
        *owned, options = Owned.__dict__["__table_args__"].fget(cls)
        return (*owned, UniqueConstraint("class_id", "code"), options)

    @property
    def audit_label(self) -> str:
        """The label the log shows."""
        return f"{self.code} {self.name}"

    @property
    def low_stock(self) -> bool:
        """Whether the stock is below its reorder level."""
        return self.stock_on_hand < self.reorder_level
