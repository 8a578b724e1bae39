"""Product services: instructors maintain the class catalogue (codes unique per class) and its categories."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..access import Viewer, current_viewer
from ..extensions import db
from ..i18n import N_
from ..oplog import current_actor, current_op, operation, register_verbs
from ..org.models import Position
from ..records.services import NotAllowed, RecordError, update_record
from .models import Product, ProductCategory


def managed_class_ids(viewer: Any = None) -> set[int]:
    """Classes whose catalogue the viewer maintains: the classes they run (an instructor's, every one for an admin)."""
    viewer = viewer if viewer is not None else current_viewer()
    if not isinstance(viewer, Viewer):
        return set()
    return set(viewer.managed_class_ids)


def readable_class_ids(viewer: Any = None) -> set[int]:
    """Classes whose categories the viewer reads: the classes they run or observe, and their own class."""
    viewer = viewer if viewer is not None else current_viewer()
    if not isinstance(viewer, Viewer):
        return set()
    return set(viewer.readable_class_ids) | ({viewer.class_id} if viewer.class_id is not None else set())


def class_names(ids: set[int]) -> dict[int, str]:
    """Names of class nodes, cached for the request."""
    cache = g.setdefault("class_names", {})
    missing = sorted(i for i in ids if i not in cache)
    if missing:
        cache.update(dict(db.session.execute(select(Position.id, Position.name).where(Position.id.in_(missing))).all()))
    return {i: cache.get(i, "") for i in ids}


def categories(class_ids: set[int] | None = None) -> list[ProductCategory]:
    """Categories of the classes the viewer reads (or of `class_ids` among them), cached per request."""
    cache = g.setdefault("product_categories", {})
    readable = readable_class_ids()
    key = tuple(sorted(readable))
    if key not in cache:
        cache[key] = list(db.session.scalars(
            select(ProductCategory).where(ProductCategory.class_id.in_(key))
            .order_by(ProductCategory.name, ProductCategory.id))) if key else []
    rows = cache[key]
    return [c for c in rows if class_ids is None or c.class_id in class_ids]


def category_paths(rows: list[ProductCategory]) -> dict[int, str]:
    """'Parent / Child' labels of categories (parents found among the same rows)."""
    by_id = {c.id: c for c in rows}
    paths: dict[int, str] = {}
    for c in rows:
        names, node, seen = [], c, set()
        while node is not None and node.id not in seen:
            seen.add(node.id)
            names.append(node.name)
            node = by_id.get(node.parent_id) if node.parent_id else None
        paths[c.id] = " / ".join(reversed(names))
    return paths


def tree(rows: list[ProductCategory]) -> list[tuple[ProductCategory, int]]:
    """Categories in tree order with their depth (for indented lists)."""
    children: dict[int | None, list[ProductCategory]] = {}
    ids = {c.id for c in rows}
    for c in rows:
        children.setdefault(c.parent_id if c.parent_id in ids else None, []).append(c)
    out: list[tuple[ProductCategory, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for c in children.get(parent, []):
            out.append((c, depth))
            walk(c.id, depth + 1)

    walk(None, 0)
    return out


def _require_staff() -> Any:
    """The acting instructor or admin; anyone else (or no one) is refused."""
    actor = current_actor()
    if actor is None or not actor.is_staff:
        raise NotAllowed("product")
    return actor


def _clean(data: dict[str, Any], current: Product | None = None) -> dict[str, Any]:
    data = dict(data)
    class_id = data.get("class_id") or (current.class_id if current else None)
    if class_id not in managed_class_ids():
        raise RecordError(_("Choose a class you manage."), "class_id")
    data["class_id"] = class_id
    code = (data.get("code") or "").strip()
    if not code:
        raise RecordError(_("Give the product a code."), "code")
    data["code"] = code
    if not (data.get("name") or "").strip():
        raise RecordError(_("Give the product a name."), "name")
    taken = select(Product.id).where(Product.class_id == class_id, func.lower(Product.code) == code.lower())
    if current is not None:
        taken = taken.where(Product.id != current.id)
    # Deleted products keep their code (they can be restored), so look through the recycle bin too.
    if db.session.scalar(taken.limit(1).execution_options(skip_visibility=True, include_deleted=True)):
        raise RecordError(_("The code %(code)s is taken by another product of this class (perhaps in the "
                            "recycle bin).", code=code), "code")
    data["category_id"] = data.get("category_id") or None
    if data["category_id"]:
        category = db.session.get(ProductCategory, data["category_id"])
        if category is None or category.class_id != class_id:
            raise RecordError(_("Choose a category of the product's class."), "category_id")
    for name in ("list_price", "cost"):
        if data.get(name) is not None and data[name] < 0:
            raise RecordError(_("Must not be negative."), name)
    for name in ("stock_on_hand", "reorder_level"):
        if data.get(name) is None:
            data[name] = 0
        elif data[name] < 0:
            raise RecordError(_("Must not be negative."), name)
    if data.get("list_price") is None:
        data["list_price"] = Decimal("0")
    data["active"] = bool(data.get("active"))
    return data


@operation("product.create")
def create_product(cls: type, data: dict[str, Any], owner: Any = None) -> Product:
    """Add a product to a class the instructor manages (owned by the instructor, read by the class)."""
    actor = _require_staff()
    data = _clean(data)
    product = Product(**data, owner_id=actor.id, created_by_id=actor.id)
    db.session.add(product)
    current_op().target(product)
    return product


def update_product(obj: Product, data: dict[str, Any], expected_version: int | None = None) -> Product:
    """Save a product's fields (instructors and admins only; the code stays unique in its class)."""
    actor = current_actor()
    if actor is None:
        raise NotAllowed("product")
    if not actor.is_staff:
        # A student may own a product an instructor transferred to them, yet the catalogue stays staff work.
        raise RecordError(_("Only instructors maintain products."))
    data = _clean(data, obj)
    from .stock import levels  # the stock module imports this one's models only

    if data.get("stock_on_hand") != obj.stock_on_hand and levels(obj):
        # Once stock lies at locations, the total is their sum: a typed figure would disagree with them.
        raise RecordError(_("This product's stock is kept per location: record a movement in its Stock section."),
                          "stock_on_hand")
    return update_record(obj, data, expected_version=expected_version)


def _check_category(class_id: int, name: str, parent_id: int | None, current: ProductCategory | None = None
                    ) -> tuple[str, ProductCategory | None]:
    if class_id not in managed_class_ids():
        raise RecordError(_("Choose a class you manage."), "class_id")
    name = (name or "").strip()
    if not name:
        raise RecordError(_("Give the category a name."), "name")
    parent = db.session.get(ProductCategory, parent_id) if parent_id else None
    if parent_id and (parent is None or parent.class_id != class_id):
        raise RecordError(_("Choose a parent category of the same class."), "parent_id")
    node = parent
    while node is not None:  # no cycles: a category cannot sit under itself or its own child
        if current is not None and node.id == current.id:
            raise RecordError(_("A category cannot be placed under itself or its own subcategory."), "parent_id")
        node = db.session.get(ProductCategory, node.parent_id) if node.parent_id else None
    twin = select(ProductCategory.id).where(
        ProductCategory.class_id == class_id, func.lower(ProductCategory.name) == name.lower(),
        ProductCategory.parent_id.is_(None) if parent is None else ProductCategory.parent_id == parent.id)
    if current is not None:
        twin = twin.where(ProductCategory.id != current.id)
    if db.session.scalar(twin.limit(1)):
        raise RecordError(_("A category of this name exists already at this place."), "name")
    return name, parent


@operation("product_category.create")
def create_category(class_id: int, name: str, parent_id: int | None) -> ProductCategory:
    """Add a category to a class's tree."""
    _require_staff()
    parent = db.session.get(ProductCategory, parent_id) if parent_id else None
    class_id = parent.class_id if parent is not None else class_id
    name, parent = _check_category(class_id, name, parent_id)
    category = ProductCategory(name=name, class_id=class_id, parent_id=parent.id if parent else None)
    db.session.add(category)
    current_op().target(category)
    current_op().class_id = class_id
    return category


@operation("product_category.update")
def update_category(category: ProductCategory, name: str, parent_id: int | None) -> ProductCategory:
    """Rename a category or move it under another one of its class."""
    _require_staff()
    name, parent = _check_category(category.class_id, name, parent_id, category)
    category.name, category.parent_id = name, parent.id if parent else None
    current_op().target(category)
    current_op().class_id = category.class_id
    return category


@operation("product_category.delete")
def delete_category(category: ProductCategory) -> None:
    """Delete an empty category (no subcategories, no products, not even in the recycle bin)."""
    _require_staff()
    if category.class_id not in managed_class_ids():
        raise NotAllowed("product_category")
    if db.session.scalar(select(ProductCategory.id).where(ProductCategory.parent_id == category.id).limit(1)):
        raise RecordError(_("“%(name)s” has subcategories; move or delete them first.", name=category.name))
    used = select(Product.id).where(Product.category_id == category.id).limit(1)
    if db.session.scalar(used.execution_options(skip_visibility=True, include_deleted=True)):
        raise RecordError(_("“%(name)s” still holds products; move them to another category first.",
                            name=category.name))
    current_op().target(category)
    current_op().class_id = category.class_id
    db.session.delete(category)


register_verbs({
    "product.create": N_("created product %(label)s"),
    "product.update": N_("edited product %(label)s"),
    "product.transfer": N_("transferred product %(label)s from %(old_owner)s to %(new_owner)s"),
    "product.delete": N_("deleted product %(label)s"),
    "product.restore": N_("restored product %(label)s"),
    "product_category.create": N_("added product category %(label)s"),
    "product_category.update": N_("edited product category %(label)s"),
    "product_category.delete": N_("deleted product category %(label)s"),
})
