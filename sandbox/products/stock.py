"""Spare-parts stock: movements in, out and between locations; each logged, none below zero.

A product's `stock_on_hand` is the sum of its stock levels, kept in step by every movement here.
Repair orders consume parts through `consume_parts` inside their own transition's operation.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..errors import ServiceError
from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from .models import Product, StockLevel, StockMovement

IN, OUT, TRANSFER = "in", "out", "transfer"
DEFAULT_LOCATION = "main"
MAX_QUANTITY = 1_000_000

register_verbs({
    "stock.move": N_("Moved stock of %(label)s"),
})


def _level(product: Product, location: str) -> StockLevel:
    level = db.session.scalar(select(StockLevel).where(StockLevel.product_id == product.id,
                                                       StockLevel.location == location))
    if level is None:
        level = StockLevel(product_id=product.id, location=location, quantity=0)
        db.session.add(level)
    return level


def placed(product: Product) -> int:
    """How many of the product lie at some location (the sum of its stock levels)."""
    return db.session.scalar(select(func.coalesce(func.sum(StockLevel.quantity), 0))
                             .where(StockLevel.product_id == product.id)) or 0


def _opening(product: Product) -> None:
    """Stock counted on the product form before any movement lies nowhere yet: put it in the main store.

    The product form edits `stock_on_hand` only until stock lies at a location (the catalogue's opening stock);
    the first movement places it at DEFAULT_LOCATION, inside the movement's own logged operation.
    """
    unplaced = (product.stock_on_hand or 0) - placed(product)
    if unplaced > 0:
        _level(product, DEFAULT_LOCATION).quantity += unplaced
        db.session.flush()


def levels(product: Product) -> list[StockLevel]:
    """The product's stock per location (locations with nothing left included), by location."""
    return list(db.session.scalars(select(StockLevel).where(StockLevel.product_id == product.id)
                                   .order_by(StockLevel.location)))


def _check(quantity: int, location: str | None, field: str) -> str:
    if not isinstance(quantity, int) or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ServiceError(_("Enter a whole number of items from 1 to %(max)s.", max=f"{MAX_QUANTITY:,}"), "quantity")
    name = (location or "").strip()
    if not name or len(name) > 100:
        raise ServiceError(_("Name the location (at most 100 characters)."), field)
    return name


def _apply(product: Product, kind: str, quantity: int, from_location: str | None, to_location: str | None,
           case_id: int | None, note: str | None, by_id: int | None) -> StockMovement:
    if kind not in (IN, OUT, TRANSFER):
        raise ServiceError(_("Unknown stock movement."), "kind")
    if kind == TRANSFER and (from_location or "").strip() and (from_location or "").strip() == (to_location or "").strip():
        raise ServiceError(_("A transfer goes to another location."), "to_location")
    _opening(product)
    if kind in (OUT, TRANSFER):
        source = _level(product, _check(quantity, from_location, "from_location"))
        if source.quantity < quantity:
            raise ServiceError(_("Only %(n)s of %(product)s at %(location)s: the stock cannot go below zero.",
                                 n=source.quantity, product=product.audit_label, location=source.location), "quantity")
        source.quantity -= quantity
    if kind in (IN, TRANSFER):
        target = _level(product, _check(quantity, to_location, "to_location"))
        target.quantity += quantity
    if kind != TRANSFER:
        product.stock_on_hand = (product.stock_on_hand or 0) + (quantity if kind == IN else -quantity)
    # Only the locations the movement uses are kept (a form may send both whatever the kind).
    from_location = from_location.strip() if from_location and kind in (OUT, TRANSFER) else None
    to_location = to_location.strip() if to_location and kind in (IN, TRANSFER) else None
    movement = StockMovement(product_id=product.id, kind=kind, quantity=quantity,
                             from_location=from_location, to_location=to_location,
                             case_id=case_id, note=(note or "").strip()[:300] or None, by_id=by_id)
    db.session.add(movement)
    return movement


@operation("stock.move")
def move_stock(product: Product, kind: str, quantity: int, from_location: str | None = None,
               to_location: str | None = None, note: str | None = None) -> StockMovement:
    """Receive (in), issue (out) or transfer stock of a product the actor may change; one logged operation."""
    from ..oplog import current_actor
    from ..records.services import _check_write

    _check_write(product)
    if product.is_deleted:
        raise ServiceError(_("This record is in the recycle bin; restore it first."))
    movement = _apply(product, kind, quantity, from_location, to_location, None, note,
                      getattr(current_actor(), "id", None))
    current_op().target(product, kind=kind, quantity=quantity, from_location=movement.from_location,
                        to_location=movement.to_location)
    return movement


def consume_parts(product: Product, quantity: int, case_id: int, location: str = DEFAULT_LOCATION,
                  by_id: int | None = None) -> StockMovement:
    """Take parts out of stock for a repair order, inside the caller's operation (no log entry of its own).

    The caller has already checked that the actor may work the case; products are class-wide.
    """
    current_op()  # refuses to run outside an operation: the consumption lands in the transition's entry
    return _apply(product, OUT, quantity, location, None, case_id, None, by_id)
