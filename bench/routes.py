"""Baseline pages for the benchmark (registered only with BENCH_ROUTES=True): no query on the shown rows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, render_template, request
from flask_login import current_user

from sandbox.leads.routes import views as lead_views
from sandbox.records.list_filters import problems
from sandbox.records.views import views_of

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


# Key in app.extensions of {(blueprint name, user id): (context, labels)}: any record type's list page.
LIST_KEY = "bench_list_pages"
# Key in app.extensions of {(name, user id): (template, context, labels, activities)}: a detail page.
DETAIL_KEY = "bench_detail_pages"


def set_list_baseline(app: Any, name: str, user_id: int, context: dict[str, Any], labels: dict[Any, Any]) -> None:
    """Hold one viewer's list page context (detached rows, total, owner choices) and its reference labels."""
    app.extensions.setdefault(LIST_KEY, {})[(name, user_id)] = (context, labels)


def set_detail_baseline(app: Any, name: str, user_id: int, template: str, context: dict[str, Any],
                        labels: dict[Any, Any], activities: Any) -> None:
    """Hold the context the real detail view built (detached objects), its reference labels and activities."""
    app.extensions.setdefault(DETAIL_KEY, {})[(name, user_id)] = (template, context, labels, activities)


def record_list(name: str) -> str:
    """Any record type's list rendered from memory: same steps as RecordViews.index minus its queries."""
    context, labels = current_app.extensions[LIST_KEY][(name, current_user.id)]
    v = views_of(name)
    # The labels of referenced records (linked account names) the real page loaded in one query.
    g.reference_labels = dict(labels)
    _order, sort = v.order(request.args)
    v.prime_list_rows(context["rows"])  # as the real index primes them; every id is in the cache: no query
    return render_template("records/list.html", **{**context, "sort": sort, "problems": problems()})


# One endpoint per type (/bench/accounts/ …): the template's sort and page links build on request.endpoint.
for _name in ("accounts", "contacts", "opportunities"):
    bp.add_url_rule(f"/{_name}/", _name, record_list, defaults={"name": _name})


@bp.get("/detail/<name>")
def record_detail(name: str) -> str:
    """A detail page rendered from the context its real view built, held in memory (no query on its rows)."""
    template, context, labels, activities = current_app.extensions[DETAIL_KEY][(name, current_user.id)]
    g.reference_labels = dict(labels)
    # The template calls the activities_for global; a context variable of the same name shadows it.
    return render_template(template, **{**context, "activities_for": lambda _record: activities})
