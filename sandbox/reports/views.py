"""The report pages: the families, one report (filters, chart, table, drill-down) and its export."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from sqlalchemy import select

from ..access import Viewer, current_viewer
from ..extensions import db
from ..org.models import Position, PositionKind
from ..records import list_filters
from . import bp, engine, exporting
from .engine import ReportInputError
from .registry import CLASS, DEPARTMENT, OWNER, Family, Report, families, family, reports_of


@bp.route("/")
def index() -> str:
    """Every family with its reports."""
    return render_template("reports/index.html", families=[(f, reports_of(f.key)) for f in families()])


def _family_or_404(key: str) -> Family:
    found = family(key)
    if found is None:
        abort(404)
    return found


def _report_or_404(fam: Family) -> Report:
    reports = reports_of(fam.key)
    key = (request.args.get("report") or "").strip()
    if "." in key:
        key = key.split(".", 1)[1]
    chosen = next((r for r in reports if r.key == key), None) if key else (reports[0] if reports else None)
    if chosen is None:
        abort(404)
    return chosen


def filter_choices(report: Report) -> dict[str, list[tuple[str, str]]]:
    """The owners, departments and classes the viewer may filter by (only what they can see)."""
    viewer = current_viewer()
    model = engine.model_of(report)
    out: dict[str, list[tuple[str, str]]] = {"owner": [], "department": [], "class": []}
    if not isinstance(viewer, Viewer):
        return out
    if OWNER in report.groups or not report.mine_only:
        out["owner"] = list_filters.owner_choices(model)
    classes = set(viewer.below_class_ids) | ({viewer.class_id} if viewer.class_id and viewer.subordinate_ids else set())
    if viewer.is_admin:
        classes = set(viewer.managed_class_ids)
    if classes:
        rows = db.session.execute(select(Position.id, Position.name, Position.kind, Position.class_id, Position.path)
                                  .where(Position.class_id.in_(classes) | Position.id.in_(classes))
                                  .order_by(Position.sort_order, Position.name)).all()
        mine = viewer.position_path or "/"
        out["class"] = [(str(r.id), r.name) for r in rows if r.kind == PositionKind.CLASS and len(classes) > 1]
        out["department"] = [(str(r.id), r.name) for r in rows if r.kind == PositionKind.DEPARTMENT
                             and (viewer.is_admin or r.path.startswith(mine) or r.class_id in viewer.below_class_ids)]
    return out


def _page(fam: Family, report: Report, query: engine.ReportQuery | None, error: ReportInputError | None,
          status: int = 200) -> tuple[str, int]:
    result = engine.run(report, query) if query is not None else None
    chart = None
    if result is not None:
        drawn = [report.measure(k) for k in report.chart_measures] or [result.chart_measure]
        series = [{"label": str(m.label), "kind": m.kind,
                   "values": [float(r.values[m.key]) if r.values[m.key] is not None else None for r in result.rows]}
                  for m in drawn]
        chart = {"type": report.chart, "label": series[0]["label"], "kind": series[0]["kind"],
                 "labels": [r.label for r in result.rows], "values": series[0]["values"],
                 "series": series, "links": [r.drill for r in result.rows]}
    choices = filter_choices(report)
    return render_template(
        "reports/report.html", family=fam, report=report, reports=reports_of(fam.key), result=result, chart=chart,
        query=query, error=error, groups=engine.group_choices(report), choices=choices,
        export_args=query.args() if query else {}, people={OWNER, DEPARTMENT, CLASS},
    ), status


@bp.route("/<family_key>")
def family_page(family_key: str) -> Any:
    """A family: its custom page, or the chosen report (the first by default) with its filters."""
    fam = _family_or_404(family_key)
    if fam.view is not None:
        return fam.view()
    report = _report_or_404(fam)
    try:
        query = engine.parse(report, request.args)
    except ReportInputError as refused:
        return _page(fam, report, None, refused, 400)
    return _page(fam, report, query, None)


@bp.route("/<family_key>/export.<fmt>", methods=["POST"])
def export(family_key: str, fmt: str) -> Any:
    """The report's table as CSV or XLSX (a POST: exports are logged)."""
    if fmt not in exporting.MIMETYPES:
        abort(404)
    fam = _family_or_404(family_key)
    report = _report_or_404(fam)
    try:
        query = engine.parse(report, request.args)
    except ReportInputError as refused:
        return _page(fam, report, None, refused, 400)
    return exporting.export_response(engine.run(report, query), fmt)
