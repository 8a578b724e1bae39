"""The visit orders' bulk pages: create from CSV, change status of chosen rows or from CSV, per-row report."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..access import require_changer
from ..boundary import attempt
from ..errors import ServiceError
from ..extensions import db
from . import bp, bulk, rules, services
from .models import Case

LIST_LIMIT = 200


def _text() -> str:
    """The CSV from the upload field, else from the text box (at most 2 MB)."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        return upload.read(2 * 1024 * 1024).decode("utf-8-sig", errors="replace")
    return request.form.get("csv", "")


def _page(report: list[bulk.RowResult] | None = None, status: int = 200) -> Any:
    wf = services.graph_of(bulk.WORKFLOW).workflow
    orders = list(db.session.scalars(select(Case).where(Case.workflow == bulk.WORKFLOW)
                                     .order_by(Case.created_at.desc(), Case.id.desc()).limit(LIST_LIMIT)))
    states = [(s.name, s.label.pick(rules.locale())) for s in wf.states]
    return render_template("cases/visit_orders.html", orders=orders, states=states, report=report,
                           state_label=lambda s: rules.state_label(wf, s), wf=wf), status


@bp.route("/visit-orders/", methods=["GET"])
def visit_orders() -> Any:
    """The visit orders the viewer sees, to choose rows for a status change, and the two CSV forms."""
    return _page()


@bp.route("/visit-orders/import", methods=["POST"])
def visit_orders_import() -> Any:
    """Create visit orders from a CSV; the page answers with the per-row report."""
    require_changer()
    with attempt(category="danger") as outcome:
        report = bulk.create_visit_orders(_text())
    return _page(None if outcome.failed else report, outcome.status if outcome.failed else 200)


@bp.route("/visit-orders/status", methods=["POST"])
def visit_orders_status() -> Any:
    """Change the status of the chosen rows (ids + state) or of a CSV's rows (id, state); per-row report."""
    require_changer()
    text = _text()
    with attempt(category="danger") as outcome:
        if text.strip():
            report = bulk.change_status(bulk.pairs_from_csv(text), from_file=True)
        else:
            to = request.form.get("to", "")
            ids = [int(i) if i.isdigit() and len(i) < 10 else i for i in request.form.getlist("ids")]
            if not ids:
                raise ServiceError(_("Choose the visit orders to change, or give a CSV."), "ids")
            report = bulk.change_status([(n, ident, to) for n, ident in enumerate(ids, start=1)])
    return _page(None if outcome.failed else report, outcome.status if outcome.failed else 200)
