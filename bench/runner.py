"""`sandbox bench`: the lead list page per viewer against a bare page rendering the same rows from memory.

Every ratio is baseline time ÷ measured time (1.0 = as fast as the baseline; higher is better). Timings
are medians of interleaved requests through the Flask test client, signed in through the real form.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import click
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from sandbox import access, create_app
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.leads.routes import views as lead_views
from sandbox.org.models import User
from sandbox.records.extras import list_extras

from . import backup as backup_bench
from . import calendar as calendar_bench
from . import campaigns as campaigns_bench
from . import cases as cases_bench
from . import customers as customers_bench
from . import forecasts as forecasts_bench
from . import gradebook, pages, workbench
from . import knowledge as knowledge_bench
from . import lecture_hall as lecture_hall_bench
from . import notifications as notifications_bench
from . import reports as reports_bench
from . import reset as reset_bench
from . import service as service_bench
from . import throttle as throttle_bench
from .data import FULL, QUICK, Size, build, create_schema
from .pages import TARGET, BenchError, paired_medians, sign_in, timed_get
from .routes import set_baseline

# The three viewers; the teacher (above all classes) shows the multi-class shape as well.
VIEWERS = ("student", "manager", "instructor", "teacher")
REAL_URL = "/leads/"
BASE_URL = "/bench/leads/"

# Benches that build a database of their own, run in this order (one per line: each module adds its own).
OWN_DATABASE = (
    reset_bench,
    forecasts_bench,
    reports_bench,
    customers_bench,
    calendar_bench,
    notifications_bench,
    knowledge_bench,
    campaigns_bench,
    service_bench,
    cases_bench,
    throttle_bench,
    backup_bench,
    lecture_hall_bench,
)


@dataclass
class Measure:
    """One measured page against its baseline (times in milliseconds)."""

    name: str
    value: float
    unit: str
    baseline: float
    ratio: float

    def as_json(self) -> str:
        """The measure as one JSON line."""
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass
class ViewerFacts:
    """What a viewer's page shows, for the readable table."""

    visible: int
    total: int
    rows: int
    plans: list[str]


def _say(message: str) -> None:
    click.echo(message, err=True)


def bench_app(folder: Path) -> Flask:
    """The application under test, on its own SQLite file, with the baseline routes."""
    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
        "SECRET_KEY": "bench-secret",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BENCH_ROUTES": True,
        "UPLOAD_FOLDER": str(folder / "uploads"),
    })


def load_baseline(app: Flask, username: str) -> tuple[int, ViewerFacts]:
    """Load the viewer's first page through the real code path once, detach it, keep it in memory."""
    with app.test_request_context(REAL_URL):
        access.use_viewer(access.SYSTEM)
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise BenchError(f"no user {username}")
        access.use_viewer(access.viewer_for(user))
        order, _sort = lead_views.order({})
        rows, total = lead_views.page_of(lead_views.conditions({}), order, 1)
        extras = list_extras(Lead)
        visible = db.session.scalar(select(func.count()).select_from(Lead)) or 0
        # Detached, fully loaded objects: the baseline renders them without touching the database.
        db.session.expunge_all()
        set_baseline(app, user.id, rows, total, extras)
        return user.id, ViewerFacts(visible=visible, total=total, rows=len(rows), plans=[])


def _shown(html: str) -> tuple[str, ...]:
    parts = (
        re.search(r"<tbody>.*?</tbody>", html, re.S),
        re.search(r'data-testid="total">([^<]*)<', html),
        re.search(r'<select[^>]*name="owner".*?</select>', html, re.S),
    )
    if any(p is None for p in parts):
        raise BenchError("the list page has no table body, total or owner filter")
    return tuple(p.group(0) for p in parts if p is not None)


def check_same_page(client: FlaskClient) -> None:
    """The baseline must show the rows, total and owner choices of the real page, or the ratio means nothing."""
    if _shown(timed_get(client, REAL_URL)[1]) != _shown(timed_get(client, BASE_URL)[1]):
        raise BenchError("the baseline does not render the same rows and total as the real page")


def query_plans(app: Flask, client: FlaskClient) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement on leads that one real page request runs."""
    return pages.query_plans(app, client, REAL_URL, lambda statement: re.search(r"\bleads\b", statement))


def measure_leads(app: Flask, key: str, username: str, rounds: int, warmup: int,
                  verbose: bool) -> tuple[Measure, ViewerFacts]:
    """Median time of the real lead list and of its baseline for one viewer, interleaved."""
    _user_id, facts = load_baseline(app, username)
    client = sign_in(app, username)
    check_same_page(client)
    if verbose:
        facts.plans = query_plans(app, client)
    value, baseline = paired_medians(client, REAL_URL, BASE_URL, rounds, warmup)
    measure = Measure(f"leads_list.{key}", round(value, 3), "ms", round(baseline, 3), round(baseline / value, 3))
    return measure, facts


def _total_label(total: int, cap: int) -> str:
    return f"{cap:,}+" if total > cap else f"{total:,}"


def _table(size: Size, rounds: int, built_seconds: float, cap: int,
           results: list[tuple[Measure, ViewerFacts]], verbose: bool) -> str:
    lines = [
        f"lead list {REAL_URL} (50 rows, newest first) · {size.leads:,} leads in {size.classes} classes"
        f" · data built in {built_seconds:.1f} s · median of {rounds} requests each",
        "ratio = baseline ÷ page (1.0 = as fast as rendering the same rows from memory)",
        "",
        f"{'viewer':<12}{'visible':>10}{'total shown':>13}{'page ms':>10}{'baseline ms':>13}{'ratio':>8}"
        f"  target ≥ {TARGET}",
    ]
    for measure, facts in results:
        verdict = "ok" if measure.ratio >= TARGET else "BELOW"
        lines.append(
            f"{measure.name.split('.')[-1]:<12}{facts.visible:>10,}{_total_label(facts.total, cap):>13}"
            f"{measure.value:>10.2f}{measure.baseline:>13.2f}{measure.ratio:>8.2f}  {verdict}"
        )
    if verbose:
        for measure, facts in results:
            lines += ["", f"query plans for {measure.name}:", *facts.plans]
    return "\n".join(lines)


def run_all(as_json: bool = False, quick: bool = False, verbose: bool = False) -> list[Measure]:
    """Build the data, measure every viewer, print a table (or JSON lines); returns the measures."""
    size = QUICK if quick else FULL
    # The CLI has no --verbose; BENCH_VERBOSE=1 adds the query plans of every viewer's page.
    verbose = verbose or os.environ.get("BENCH_VERBOSE") == "1"
    rounds, warmup = (5, 2) if quick else (40, 5)
    results: list[tuple[Measure, ViewerFacts]] = []
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as folder:
        app = bench_app(Path(folder))
        _say("bench: migrating a fresh SQLite database …")
        create_schema(app)
        _say(f"bench: generating {size.leads:,} leads …")
        built = build(app, size, progress=lambda msg: _say(f"bench: {msg}"))
        _say(f"bench: data ready in {built.seconds:.1f} s ({built.users:,} users, {built.positions:,} positions)")
        for key in VIEWERS:
            _say(f"bench: measuring the lead list as the {key} …")
            results.append(measure_leads(app, key, built.usernames[key], rounds, warmup, verbose))
        # Accounts, contacts, opportunities and the opportunity page (bench/workbench.py), same database.
        more, more_table = workbench.run(app, sign_in, Measure, quick, rounds, warmup, verbose,
                                         lambda msg: _say(f"bench: {msg}"))
        cap = app.config["LIST_COUNT_CAP"]
        with app.app_context():
            db.engine.dispose()
        # The gradebook over a class run's log (bench/gradebook.py), in a database of its own.
        graded, graded_table = gradebook.run(Path(folder), Measure, quick, lambda msg: _say(f"bench: {msg}"))
        more.append((graded, None))
        more_table += "\n\n" + graded_table
    # Benches on databases of their own, each `run(Measure, quick, say) -> (measures, table)`: the reset of a
    # class, the forecast roll-up of 60 students, each report family against its bare GROUP BY, the RFM page,
    # the calendar's month of 2,000 events, the notification inbox and badge, a student's knowledge-base list of
    # 20,000 articles, a campaign of 5,000 members and the ROI report, the service reports over 100,000
    # cases and the Service desk's generation, the cases list of 100,000 cases and one workflow
    # transition (OWN_DATABASE).
    for bench in OWN_DATABASE:
        measures, table = bench.run(Measure, quick, _say)
        more += [(m, None) for m in measures]
        more_table += "\n\n" + table
    if as_json:
        for measure, _facts in results:
            click.echo(measure.as_json())
        for measure, _more in more:
            click.echo(measure.as_json())
    else:
        click.echo(_table(size, rounds, built.seconds, cap, results, verbose) + "\n\n" + more_table)
    return [measure for measure, _facts in results] + [measure for measure, _more in more]
