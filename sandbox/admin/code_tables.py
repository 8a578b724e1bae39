"""The code-table editor: picklist values with Chinese and English labels, order and active flag."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..codes.defaults import DEFAULTS, TABLE_NAMES
from ..codes.models import CodeValue
from ..codes.services import CodeError, create_value, delete_value, in_use, update_value
from ..extensions import db
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


@bp.get("/code-tables")
def code_tables() -> str:
    table = _table_or_404(request.args.get("table"))
    values = list(db.session.scalars(
        select(CodeValue).where(CodeValue.table_name == table).order_by(CodeValue.sort_order, CodeValue.id)))
    zh = str(get_locale() or "").startswith("zh")
    names = {t: (n[0] if zh else n[1]) for t, n in TABLE_NAMES.items()}
    used = {v.id: in_use(v) for v in values}
    return render_template("admin/code_tables.html", table=table, values=values, names=names, used=used,
                           confirm=ConfirmForm(), next_order=(values[-1].sort_order + 10) if values else 10)


@bp.post("/code-tables/add")
def code_value_add() -> Any:
    table = _table_or_404(request.form.get("table"))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        create_value(table, request.form.get("code", ""), request.form.get("label_zh", ""),
                     request.form.get("label_en", ""), _int(request.form.get("sort_order")))
        db.session.commit()
        flash(_("Value added."), "success")
    except CodeError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    return redirect(url_for("admin.code_tables", table=table))


@bp.post("/code-tables/<int:value_id>")
def code_value_update(value_id: int) -> Any:
    value = db.session.get(CodeValue, value_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        update_value(value, request.form.get("label_zh", ""), request.form.get("label_en", ""),
                     _int(request.form.get("sort_order"), value.sort_order), request.form.get("active") == "y")
        db.session.commit()
        flash(_("Value saved."), "success")
    except CodeError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
    return redirect(url_for("admin.code_tables", table=value.table_name))


@bp.post("/code-tables/<int:value_id>/delete")
def code_value_delete(value_id: int) -> Any:
    value = db.session.get(CodeValue, value_id) or abort(404)
    table = value.table_name
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        delete_value(value)
        db.session.commit()
        flash(_("Value deleted."), "success")
    except CodeError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
    return redirect(url_for("admin.code_tables", table=table))
