"""Spare-parts stock pages: the stock section of a product's page, its movement form, the low-stock alarm.

Who moves stock: whoever may change the product, i.e. the instructors of its class (and administrators).
Students read the levels and history of their class's products; their repair orders consume parts
through the cases' own transitions (stock.consume_parts), never through this form.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..access import can_write, current_viewer, get_writable_or_404
from ..boundary import attempt
from ..extensions import db
from ..numbers import BoundedIntegerField
from ..org.models import User
from . import bp, stock
from .models import Product, StockLevel, StockMovement
from .services import class_names

HISTORY_LIMIT = 50
LOW_STOCK_PAGE_LIMIT = 500
KIND_LABELS = {stock.IN: _l("In (received)"), stock.OUT: _l("Out (issued)"), stock.TRANSFER: _l("Transfer")}


class StockForm(FlaskForm):
    """One stock movement: in to a location, out of one, or from one location to another."""

    kind = SelectField(_l("Movement"), choices=list(KIND_LABELS.items()), validators=[DataRequired()])
    quantity = BoundedIntegerField(_l("Quantity"), validators=[
        DataRequired(message=_l("Enter a whole number of items.")),
        NumberRange(min=1, max=stock.MAX_QUANTITY, message=_l("Enter a whole number of items from 1 to 1,000,000."))])
    from_location = StringField(_l("From location"), validators=[Optional(), Length(max=100)])
    to_location = StringField(_l("To location"), validators=[Optional(), Length(max=100)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


@bp.app_template_global()
def stock_section(product: Product) -> dict[str, Any]:
    """What the stock card of a product's page shows: levels, recent movements, the form if allowed."""
    rows = db.session.execute(
        select(StockMovement, User.display_name).outerjoin(User, User.id == StockMovement.by_id)
        .where(StockMovement.product_id == product.id)
        .order_by(StockMovement.at.desc(), StockMovement.id.desc()).limit(HISTORY_LIMIT)).all()
    levels = stock.levels(product)
    writable = bool(current_user.can_change and can_write(product, current_viewer()) and not product.is_deleted)
    form = g.pop("stock_form", None) or (StockForm() if writable else None)
    if form is not None and request.method == "GET" and not form.from_location.data:
        form.from_location.data = stock.DEFAULT_LOCATION
        form.to_location.data = stock.DEFAULT_LOCATION
    return {"levels": levels, "movements": rows, "form": form, "writable": writable, "kinds": KIND_LABELS,
            "unplaced": (product.stock_on_hand or 0) - sum(level.quantity for level in levels),
            "locations": sorted({level.location for level in levels} | {stock.DEFAULT_LOCATION})}


@bp.route("/<int:record_id>/stock", methods=["POST"])
def stock_move(record_id: int) -> Any:
    """Record a movement; a refusal (below zero, no location…) shows next to its field on the product page (400)."""
    product = get_writable_or_404(Product, record_id)
    form = StockForm()
    if form.validate_on_submit():
        with attempt(form, "quantity") as outcome:
            stock.move_stock(product, form.kind.data, form.quantity.data, form.from_location.data,
                             form.to_location.data, form.note.data)
        if not outcome.failed:
            flash(_("Stock moved: %(kind)s, %(n)s.", kind=KIND_LABELS[form.kind.data], n=form.quantity.data),
                  "success")
            return redirect(url_for("products.detail", record_id=record_id, _anchor="stock"))
    g.stock_form = form
    from .routes import views

    db.session.expire(product)  # the refused movement was rolled back: show the stock as it stands
    return views.detail(record_id), 400


@bp.route("/low-stock")
def low_stock() -> str:
    """The low-stock alarm: active products under their reorder level, class-wide (what the viewer reads)."""
    products = list(db.session.scalars(
        select(Product).where(Product.active.is_(True), Product.stock_on_hand < Product.reorder_level)
        .order_by(Product.stock_on_hand - Product.reorder_level, Product.code).limit(LOW_STOCK_PAGE_LIMIT)))
    ids = [p.id for p in products]
    levels: dict[int, list[StockLevel]] = {}
    if ids:
        for level in db.session.scalars(select(StockLevel).where(StockLevel.product_id.in_(ids), StockLevel.quantity > 0)
                                        .order_by(StockLevel.location)):
            levels.setdefault(level.product_id, []).append(level)
    names = class_names({p.class_id for p in products if p.class_id})
    return render_template("products/stock_low.html", products=products, levels=levels, class_names=names,
                           several=len(names) > 1)
