"""The code-table editor: picklist values with Chinese and English labels, order and active flag.

The admin edits the school's defaults (or any class's overrides); an instructor edits the overrides of
the classes below them, so one teacher's change never reaches another teacher's class.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from ..boundary import attempt
from ..codes.defaults import DEFAULTS, TABLE_NAMES
from ..codes.models import CodeValue
from ..codes.services import SCHOOL, create_value, delete_value, in_use, update_value, values_for
from ..extensions import db
from ..numbers import db_id
from ..oplog import current_actor
from ..org.models import Position, Role
from ..org.scope import managed_classes
from ..records.forms import ConfirmForm
from . import bp


def _table_or_404(table: str | None) -> str:
    table = table or next(iter(DEFAULTS))
    if table not in DEFAULTS:
        abort(404)
    return table


def _int(value: str | None, default: int = 0) -> int:
    try:
        return max(-100_000, min(int(value or default), 100_000))
    except ValueError:
        return default


def _scope(values: Any) -> tuple[Position | None, list[Position]]:
    """The class whose picklists are edited (None: the school's defaults, the admin's) and the choices.
    An instructor always edits one of their classes; a class they do not teach is not found."""
    classes = managed_classes(current_actor())
    wanted = values.get("class_id", type=db_id)
    if wanted is not None:
        klass = next((c for c in classes if c.id == wanted), None)
        return (klass or abort(404)), classes
    if current_actor().role == Role.ADMIN:
        return None, classes
    return (classes[0] if classes else abort(403)), classes


@bp.get("/code-tables")
def code_tables() -> str:
    """The values of one code table, for the school's defaults or one class."""
    table = _table_or_404(request.args.get("table"))
    klass, classes = _scope(request.args)
    values = values_for(table, klass.id if klass else SCHOOL)
    zh = str(get_locale() or "").startswith("zh")
    names = {t: (n[0] if zh else n[1]) for t, n in TABLE_NAMES.items()}
    used = {v.id: in_use(v, klass.id if klass else None) for v in values}
    return render_template("admin/code_tables.html", table=table, values=values, names=names, used=used,
                           klass=klass, classes=classes, is_admin=current_actor().role == Role.ADMIN,
                           confirm=ConfirmForm(), next_order=(values[-1].sort_order + 10) if values else 10)


def _back(table: str, klass: Position | None) -> Any:
    return redirect(url_for("admin.code_tables", table=table, class_id=klass.id if klass else None))


@bp.post("/code-tables/add")
def code_value_add() -> Any:
    """Add a value to a code table (the school's, or one class's)."""
    table = _table_or_404(request.form.get("table"))
    klass, _classes = _scope(request.form)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt() as outcome:
        create_value(table, request.form.get("code", ""), request.form.get("label_zh", ""),
                     request.form.get("label_en", ""), _int(request.form.get("sort_order")),
                     klass.id if klass else None)
    if not outcome.failed:
        flash(_("Value added."), "success")
    return _back(table, klass)


def _value_or_404(value_id: int, klass: Position | None) -> CodeValue:
    """A default, or a value of the class being edited; another class's value is not found."""
    value = db.session.get(CodeValue, value_id)
    if value is None or value.class_id not in (None, klass.id if klass else None):
        abort(404)
    return value


@bp.post("/code-tables/<int:value_id>")
def code_value_update(value_id: int) -> Any:
    """Save a value's labels, order and active flag (for a class: its override)."""
    klass, _classes = _scope(request.form)
    value = _value_or_404(value_id, klass)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    table = value.table_name
    with attempt() as outcome:
        update_value(value, request.form.get("label_zh", ""), request.form.get("label_en", ""),
                     _int(request.form.get("sort_order"), value.sort_order), request.form.get("active") == "y",
                     klass.id if klass else None)
    if not outcome.failed:
        flash(_("Value saved."), "success")
    return _back(table, klass)


@bp.post("/code-tables/<int:value_id>/delete")
def code_value_delete(value_id: int) -> Any:
    """Delete an unused value (a class's override: back to the default)."""
    klass, _classes = _scope(request.form)
    value = _value_or_404(value_id, klass)
    table = value.table_name
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if value.class_id is None and klass is not None:
        flash(_("A default cannot be deleted for one class; deactivate it for the class instead."), "warning")
        return _back(table, klass)
    with attempt(category="warning") as outcome:
        delete_value(value)
    if not outcome.failed:
        flash(_("Value deleted.") if klass is None else _("Deleted: the class uses the school's default again, "
                                                            "if there is one."), "success")
    return _back(table, klass)


