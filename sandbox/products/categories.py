"""The product category tree of each class an instructor manages (staff only)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ..boundary import attempt
from ..extensions import db
from ..records.forms import ConfirmForm
from . import bp, services
from .forms import CategoryForm
from .models import Product, ProductCategory


def _staff_or_403() -> None:
    """Categories are instructors' work: anyone else gets 403."""
    if not current_user.is_staff:
        abort(403)


def _managed_or_404(category_id: int) -> ProductCategory:
    """A category of a class the viewer manages; any other id is 404."""
    category = db.session.get(ProductCategory, category_id)
    if category is None or category.class_id not in services.managed_class_ids():
        abort(404)
    return category


@bp.route("/categories", methods=["GET", "POST"])
def categories() -> Any:
    """The trees of the viewer's classes, with a form to add a category."""
    _staff_or_403()
    form = CategoryForm()
    status = 200
    if form.validate_on_submit():
        with attempt(form, "name") as outcome:
            category = services.create_category(form.class_id.data, form.name.data, form.parent_id.data or None)
        if not outcome.failed:
            flash(_("Category “%(name)s” added.", name=category.name), "success")
            return redirect(url_for("products.categories"))
        status = outcome.status
    if form.errors:
        status = max(status, 400)
    managed = services.managed_class_ids()
    rows = services.categories(managed)
    counts = dict(db.session.execute(
        select(Product.category_id, func.count()).where(Product.category_id.in_([c.id for c in rows]))
        .group_by(Product.category_id)).all()) if rows else {}
    names = services.class_names(managed)
    classes = [(cid, names[cid], services.tree([c for c in rows if c.class_id == cid]))
               for cid in sorted(managed, key=lambda i: names[i])]
    return render_template("products/categories.html", form=form, classes=classes, counts=counts,
                           confirm=ConfirmForm()), status


@bp.route("/categories/<int:category_id>", methods=["GET", "POST"])
def category_edit(category_id: int) -> Any:
    """Rename a category or move it within its class's tree."""
    _staff_or_403()
    category = _managed_or_404(category_id)
    form = CategoryForm(obj=category, exclude_id=category.id)
    form.parent_id.choices = _parent_choices(category)
    status = 200
    if form.validate_on_submit():
        with attempt(form, "name") as outcome:
            services.update_category(category, form.name.data, form.parent_id.data or None)
        if not outcome.failed:
            flash(_("Changes saved."), "success")
            return redirect(url_for("products.categories"))
        status = outcome.status
    return render_template("products/category_edit.html", form=form, category=category), \
        max(status, 400 if form.errors else 200)


def _parent_choices(category: ProductCategory) -> list[tuple[int, str]]:
    """Parents a category may move under: the other categories of its own class."""
    from .forms import category_choices

    return category_choices({category.class_id}, category.id, blank=_("(top level)"))


@bp.post("/categories/<int:category_id>/delete")
def category_delete(category_id: int) -> Any:
    """Delete an empty category."""
    _staff_or_403()
    category = _managed_or_404(category_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = category.name
    with attempt(category="warning") as outcome:
        services.delete_category(category)
    if not outcome.failed:
        flash(_("Category “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("products.categories"))
