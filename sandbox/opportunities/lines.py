"""Product line items of an opportunity; the opportunity's amount follows its lines when there are any."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..products.models import Product
from ..records.services import RecordError, _check_write
from .models import Opportunity
from .related_models import OpportunityLine

CENT = Decimal("0.01")
MAX_QUANTITY = Decimal("9999999999")
MAX_PRICE = Decimal("99999999999999")


def has_lines(opp: Opportunity) -> bool:
    """Whether the opportunity has product lines (its amount then follows them)."""
    return db.session.scalar(select(OpportunityLine.id).where(OpportunityLine.opportunity_id == opp.id).limit(1)) \
        is not None


def typed_amount(opp: Opportunity) -> Decimal | None:
    """The amount a user typed, when there are no lines yet (the first line replaces it), else None.

    Zero counts as none typed: there is nothing the user would miss."""
    if not opp.amount or has_lines(opp):
        return None
    return Decimal(opp.amount)


def line_total(quantity: Decimal, unit_price: Decimal, discount: Decimal) -> Decimal:
    """quantity × unit price × (100 − discount) / 100, rounded to the cent."""
    return (quantity * unit_price * (Decimal(100) - discount) / Decimal(100)).quantize(CENT, ROUND_HALF_UP)


def check_writable(opp: Opportunity) -> None:
    """Refuse changes to the lines and parties of an opportunity the viewer may not change."""
    _check_write(opp)
    if opp.is_deleted:
        raise RecordError(_("This record is in the recycle bin; restore it before editing."))


def _values(quantity: Any, unit_price: Any, discount: Any) -> tuple[Decimal, Decimal, Decimal]:
    if quantity is None or quantity <= 0:
        raise RecordError(_("The quantity must be more than zero."), "quantity")
    if quantity > MAX_QUANTITY:
        raise RecordError(_("The quantity is too large."), "quantity")
    if unit_price is None or unit_price < 0:
        raise RecordError(_("The unit price must not be negative."), "unit_price")
    if unit_price > MAX_PRICE:
        raise RecordError(_("The unit price is too large."), "unit_price")
    discount = Decimal("0") if discount is None else discount
    if discount < 0 or discount > 100:
        raise RecordError(_("The discount is a percentage from 0 to 100."), "discount")
    return (Decimal(quantity).quantize(CENT, ROUND_HALF_UP), Decimal(unit_price).quantize(CENT, ROUND_HALF_UP),
            Decimal(discount).quantize(CENT, ROUND_HALF_UP))


def recompute_amount(opp: Opportunity) -> None:
    """Set the amount to the sum of the line totals (left as it was when the last line goes)."""
    totals = list(db.session.scalars(select(OpportunityLine.total).where(OpportunityLine.opportunity_id == opp.id)))
    if totals:
        amount = sum((Decimal(t) for t in totals), Decimal("0")).quantize(CENT)
        if opp.amount is None or Decimal(opp.amount) != amount:
            opp.amount = amount


def _params(product: Product, line: OpportunityLine) -> dict[str, str]:
    return {"product": product.audit_label, "quantity": f"{line.quantity.normalize():f}",
            "unit_price": f"{line.unit_price:f}", "discount": f"{line.discount.normalize():f}"}


@operation("opportunity.add_line")
def add_line(opp: Opportunity, product: Product, quantity: Any, unit_price: Any = None,
             discount: Any = None) -> OpportunityLine:
    """Put a product of the opportunity's class on it; the unit price defaults to the list price."""
    check_writable(opp)
    if product.class_id != opp.class_id:
        raise RecordError(_("Choose a product of this opportunity's class."), "product_id")
    if not product.active:
        raise RecordError(_("This product is inactive and no longer offered."), "product_id")
    quantity, unit_price, discount = _values(quantity, product.list_price if unit_price is None else unit_price,
                                             discount)
    line = OpportunityLine(opportunity_id=opp.id, product_id=product.id, quantity=quantity, unit_price=unit_price,
                           discount=discount, total=line_total(quantity, unit_price, discount))
    db.session.add(line)
    db.session.flush()
    recompute_amount(opp)
    current_op().target(opp, **_params(product, line), child_id=line.id)
    return line


@operation("opportunity.update_line")
def update_line(opp: Opportunity, line: OpportunityLine, product: Product | None, quantity: Any, unit_price: Any,
                discount: Any) -> OpportunityLine:
    """Change a line's quantity, unit price or discount."""
    check_writable(opp)
    if line.opportunity_id != opp.id:
        raise RecordError(_("This line belongs to another opportunity."))
    line.quantity, line.unit_price, line.discount = _values(quantity, unit_price, discount)
    line.total = line_total(line.quantity, line.unit_price, line.discount)
    db.session.flush()
    recompute_amount(opp)
    current_op().target(opp, **(_params(product, line) if product else {"product": f"#{line.product_id}"}))
    return line


@operation("opportunity.remove_line")
def remove_line(opp: Opportunity, line: OpportunityLine, product: Product | None) -> None:
    """Take a product line off the opportunity."""
    check_writable(opp)
    if line.opportunity_id != opp.id:
        raise RecordError(_("This line belongs to another opportunity."))
    params = _params(product, line) if product else {"product": f"#{line.product_id}"}
    db.session.delete(line)
    db.session.flush()
    recompute_amount(opp)
    current_op().target(opp, **params)


register_verbs({
    "opportunity.add_line": N_("added %(quantity)s × %(product)s to opportunity %(label)s"),
    "opportunity.update_line": N_("changed the line %(product)s of opportunity %(label)s"),
    "opportunity.remove_line": N_("removed %(product)s from opportunity %(label)s"),
})
