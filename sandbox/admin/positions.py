"""The position tree editor and the class wizard."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..boundary import attempt
from ..extensions import db
from ..oplog import current_actor
from ..org.models import Position, User
from ..org.scope import managed_positions
from ..org.services import class_wizard, create_position, delete_position, update_position
from ..records.forms import ConfirmForm
from . import bp
from .common import managed_position_or_404, position_choices
from .forms import ClassWizardForm, PositionForm, RenameForm


def _tree_context(**forms: Any) -> dict[str, Any]:
    nodes = list(db.session.scalars(managed_positions(current_actor())))
    children: dict[int | None, list[Position]] = defaultdict(list)
    ids = {n.id for n in nodes}
    roots = [n for n in nodes if n.parent_id not in ids]
    for n in nodes:
        children[n.parent_id].append(n)
    holders = dict(
        db.session.execute(
            select(User.position_id, func.count()).where(User.position_id.in_(ids)).group_by(User.position_id)
        ).all()
    )
    add = forms.get("add") or PositionForm()
    wizard = forms.get("wizard") or ClassWizardForm()
    choices = position_choices()
    add.parent_id.choices = choices
    wizard.parent_id.choices = [c for c in choices if db.session.get(Position, c[0]).kind in ("organization", "teacher")]
    return {"roots": roots, "children": children, "holders": holders, "add": add, "wizard": wizard, "confirm": ConfirmForm()}


@bp.get("/positions")
def positions() -> str:
    """The position tree of the actor's subtree, with the add and wizard forms."""
    return render_template("admin/positions.html", **_tree_context())


@bp.post("/positions/add")
def position_add() -> Any:
    """Add a position under one of the actor's positions."""
    form = PositionForm()
    ctx = _tree_context(add=form)
    if form.validate_on_submit():
        parent = managed_position_or_404(form.parent_id.data)
        with attempt(form, "name") as outcome:
            create_position(current_actor(), parent, form.kind.data, form.name.data, form.join_code.data,
                            form.registration_open.data)
        if not outcome.failed:
            flash(_("Position “%(name)s” added.", name=form.name.data), "success")
            return redirect(url_for("admin.positions"))
    return render_template("admin/positions.html", **ctx), 400


@bp.post("/positions/wizard")
def position_wizard() -> Any:
    """Create a class with its departments and salespeople in one step."""
    form = ClassWizardForm()
    ctx = _tree_context(wizard=form)
    if form.validate_on_submit():
        names = form.departments.data.splitlines()
        if form.count.data:
            names = [_("Department %(n)d", n=i + 1) for i in range(form.count.data)]
        parent = managed_position_or_404(form.parent_id.data)
        with attempt(form, "name") as outcome:
            klass = class_wizard(current_actor(), parent, form.name.data, names, form.join_code.data, form.registration_open.data)
        if not outcome.failed:
            flash(_("Class “%(name)s” created with %(n)d departments.", name=klass.name, n=len(names)), "success")
            return redirect(url_for("admin.positions"))
    return render_template("admin/positions.html", **ctx), 400


@bp.route("/positions/<int:position_id>", methods=["GET", "POST"])
def position_edit(position_id: int) -> Any:
    """Rename a position (a class: its join code and registration too) and list its holders."""
    position = managed_position_or_404(position_id)
    form = RenameForm(obj=position) if request.method == "GET" else RenameForm()
    if form.validate_on_submit():
        with attempt(form, "name") as outcome:
            update_position(current_actor(), position, form.name.data, form.join_code.data, form.registration_open.data)
        if not outcome.failed:
            flash(_("Position saved."), "success")
            return redirect(url_for("admin.positions"))
    holders = list(db.session.scalars(select(User).where(User.position_id == position.id).order_by(User.display_name)))
    return render_template("admin/position_edit.html", form=form, position=position, holders=holders), (
        400 if form.errors else 200
    )


@bp.post("/positions/<int:position_id>/delete")
def position_delete(position_id: int) -> Any:
    """Delete an empty position of the actor's subtree."""
    position = managed_position_or_404(position_id)
    if ConfirmForm().validate_on_submit():
        name = position.name
        with attempt() as outcome:
            delete_position(current_actor(), position)
        if not outcome.failed:
            flash(_("Position “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("admin.positions"))
