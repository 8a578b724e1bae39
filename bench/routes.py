"""Baseline pages for the benchmark (registered only with BENCH_ROUTES=True): no business queries."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_login import current_user

from sandbox.leads.routes import views as lead_views

bp = Blueprint("bench", __name__, url_prefix="/bench")

# Key in app.extensions of {user id: (rows, total)}: the rows each viewer's real page shows, detached.
BASELINE_KEY = "bench_lead_rows"


def set_baseline(app: Any, user_id: int, rows: list[Any], total: int) -> None:
    """Hold one viewer's page of leads in memory for the baseline route."""
    app.extensions.setdefault(BASELINE_KEY, {})[user_id] = (rows, total)


@bp.get("/leads/")
def leads() -> str:
    """The lead list rendered through the real template from rows in memory (the bare page)."""
    rows, total = current_app.extensions[BASELINE_KEY][current_user.id]
    # Same context shape as RecordViews.index: v, rows, total, page, sort.
    _order, sort = lead_views.order(request.args)
    return lead_views.render("records/list.html", rows=rows, total=total, page=1, sort=sort)
