"""Baseline pages for the benchmark (registered only with BENCH_ROUTES=True): no query on leads."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_login import current_user

from sandbox.leads.routes import views as lead_views
from sandbox.records.list_filters import problems

bp = Blueprint("bench", __name__, url_prefix="/bench")

# Key in app.extensions of {user id: (rows, total, extras)}: what each viewer's real list page shows.
BASELINE_KEY = "bench_lead_rows"


def set_baseline(app: Any, user_id: int, rows: list[Any], total: int, extras: dict[str, Any]) -> None:
    """Hold one viewer's page of leads (detached rows, total, owner choices) in memory."""
    app.extensions.setdefault(BASELINE_KEY, {})[user_id] = (rows, total, extras)


@bp.get("/leads/")
def leads() -> str:
    """The lead list rendered through the real template from what is held in memory (the bare page)."""
    rows, total, extras = current_app.extensions[BASELINE_KEY][current_user.id]
    # Same steps and context shape as RecordViews.index, minus the queries on leads.
    _order, sort = lead_views.order(request.args)
    lead_views.prime_rows(rows)
    return lead_views.render("records/list.html", rows=rows, total=total, page=1, sort=sort,
                             **{**extras, "problems": problems()})
