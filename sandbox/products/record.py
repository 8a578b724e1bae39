"""The product's registry entry: the class catalogue's fields, list and services."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..records.registry import Column, RecordType, register
from . import services
from .forms import ProductForm
from .models import Product

FIELDS = ["class_id", "code", "name", "category_id", "unit", "list_price", "cost", "active", "stock_on_hand",
          "reorder_level", "description"]

PRODUCT = register(RecordType(
    name="product", model=Product, form=ProductForm, singular=_l("Product"), plural=_l("Products"),
    fields=FIELDS,
    search=["code", "name", "description"],
    columns=[Column("code", _l("Product code"), link=True), Column("name", _l("Product name"), link=True),
             Column("category_id", _l("Category"), sortable=False), Column("unit", _l("Unit")),
             Column("list_price", _l("List price")), Column("stock_on_hand", _l("Stock on hand")),
             Column("reorder_level", _l("Reorder level")), Column("active", _l("Active"))],
    create=services.create_product, update=services.update_product,
    detail_template="products/detail.html",
))
