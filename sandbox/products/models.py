"""The product category tree and the product (one catalogue per class)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, UniqueConstraint
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


class StockLevel(db.Model):
    """How many of a product lie at one location (a warehouse, a van); the product's stock_on_hand is their sum."""

    __tablename__ = "stock_levels"
    __audit_type__ = "stock_level"
    __table_args__ = (UniqueConstraint("product_id", "location", name="uq_stock_levels_location"),
                      CheckConstraint("quantity >= 0", name="not_negative"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    location: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(default=0)

    @property
    def audit_label(self) -> str:
        """What the log names."""
        return self.location


class StockMovement(db.Model):
    """One movement of stock: in (received), out (issued, or consumed by a repair order), or a transfer.

    The case is a plain id, not a foreign key: a one-student reset that removes the case keeps the
    class's stock history whole.
    """

    __tablename__ = "stock_movements"
    __audit_type__ = "stock_movement"
    __table_args__ = (CheckConstraint("quantity > 0", name="positive"),
                      Index("ix_stock_movements_product_at", "product_id", "at"), NEVER_REUSED_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    kind: Mapped[str] = mapped_column(String(20))  # in | out | transfer
    quantity: Mapped[int] = mapped_column()
    from_location: Mapped[str | None] = mapped_column(String(100))
    to_location: Mapped[str | None] = mapped_column(String(100))
    case_id: Mapped[int | None] = mapped_column(index=True)
    note: Mapped[str | None] = mapped_column(String(300))
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def audit_label(self) -> str:
        """What the log names."""
        return f"{self.kind} {self.quantity}"
