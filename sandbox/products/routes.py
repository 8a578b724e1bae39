"""Product pages: the generic ones (instructors create and edit), a low-stock alert on the list."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..records.views import RecordViews
from . import bp, services
from .models import Product
from .record import PRODUCT

LOW_STOCK_LIMIT = 50


class ProductViews(RecordViews):
    """Students read and pick products; only instructors (and admins) create them."""

    own_display = frozenset({"category_id", "class_id", "active"})  # what `display` shows its own way

    @property
    def may_create(self) -> bool:
        """Only instructors and admins see the New button."""
        return bool(current_user.is_staff)

    def new(self, source: Any = None) -> Any:
        """The generic create page, for staff only (403 for others)."""
        if not current_user.is_staff:
            abort(403)
        return super().new(source)

    def display(self, obj: Any, attr: str) -> str:
        """A product's field as shown: category path, class name, yes/no."""
        if attr == "category_id":
            if not obj.category_id:
                return ""
            rows = services.categories()
            return services.category_paths(rows).get(obj.category_id, "")
        if attr == "class_id":
            return services.class_names({obj.class_id}).get(obj.class_id, "") if obj.class_id else ""
        if attr == "active":
            return str(_l("Yes") if obj.active else _l("No"))
        return super().display(obj, attr)

    def render(self, template: str, **context: Any) -> str:
        """The list page gets the low-stock alert."""
        if template == "records/list.html":
            # Active products under their reorder level, within what the viewer reads (the rule filters).
            context["low_stock"] = list(db.session.scalars(
                select(Product).where(Product.active.is_(True), Product.stock_on_hand < Product.reorder_level)
                .order_by(Product.stock_on_hand - Product.reorder_level, Product.code).limit(LOW_STOCK_LIMIT)))
            template = "products/list.html"
        return super().render(template, **context)


views = ProductViews(bp, PRODUCT)
views.register()


@bp.before_request
def staff_import_only() -> None:
    """Importing products creates them: instructors' work, like the New product form."""
    if request.endpoint == "products.import_records" and current_user.is_authenticated and not current_user.is_staff:
        abort(403)


from . import stock_routes  # noqa: E402,F401  (the stock section, movements and the low-stock alarm)
