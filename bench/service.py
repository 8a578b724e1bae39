"""`sandbox bench`, service part: the service reports over 100,000 cases, and the Service desk's generation.

Data (its own SQLite file, Core executemany): the two classes of the reports bench (5 departments, each a
manager over 20 salespeople) and 100,000 cases of five workflows spread over them, two thirds resolved
(some after their SLA deadline), half of those with a satisfaction score. For an instructor (their whole
class) and a manager (20 subordinates) three service reports are requested through the real page (test
client signed in through the form: visibility rule, filters, labels, chart data, template) and timed
against ONE hand-written aggregate SQL query over the same rows in the same run. ratio = sql ÷ page;
target ≥ 0.3, as the other report families. Also timed: generating one student's Service desk book
(`seed.generate`, campaigns, cases and their history included) against the Sales basics book of the
same student (ratio = sales ÷ service; the service rows should cost little on top).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert

from sandbox import create_app
from sandbox.cases.models import Case
from sandbox.clock import utcnow
from sandbox.extensions import db

from .data import bulk_connection, create_schema, insert_tree
from .reports import _owned, _tree, measure_reports

TARGET = 0.3
GENERATION_TARGET = 0.5
FULL_ROWS, QUICK_ROWS = 100_000, 5_000
BATCH = 50_000
WORKFLOWS = ["complaint", "feedback", "suggestion", "info_flow", "visit_order"]
SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
Say = Callable[[str], None]

# report -> (the page, the hand-written query; {vis} is the viewer's WHERE on alias t, :now the time)
REPORTS: dict[str, tuple[str, str]] = {
    "handled": ("/reports/service?report=handled&by=workflow",
                "SELECT t.workflow, sum(CASE WHEN t.resolved_at IS NOT NULL THEN 1 ELSE 0 END),"
                " sum(CASE WHEN t.resolved_at IS NULL THEN 1 ELSE 0 END), count(t.id) FROM cases t WHERE {vis}"
                " GROUP BY t.workflow"),
    "resolve_time": ("/reports/service?report=resolve_time&by=level",
                     "SELECT t.level, avg(julianday(t.resolved_at) - julianday(t.created_at)), count(t.id)"
                     " FROM cases t WHERE {vis} AND t.resolved_at IS NOT NULL GROUP BY t.level"),
    "sla": ("/reports/service?report=sla&by=workflow",
            "SELECT t.workflow, sum(CASE WHEN (t.resolved_at IS NOT NULL AND t.resolved_at > t.due_at)"
            " OR (t.resolved_at IS NULL AND :now > t.due_at) THEN 1 ELSE 0 END), count(t.id) FROM cases t"
            " WHERE {vis} AND t.due_at IS NOT NULL GROUP BY t.workflow"),
}


def _app(folder: Path) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'service.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "up")})


def _case_type(app: Flask) -> None:
    """The "case" record type comes with the cases package; where it is not installed yet, a bare stand-in
    (the model, no pages: the reports then show no drill-down links), so the reports can be measured."""
    from flask_wtf import FlaskForm

    from sandbox.records import registry
    from sandbox.reports import engine

    if registry.find("case") is None:
        class CaseForm(FlaskForm):
            """No fields: only the reports read the type."""

        registry.register(registry.RecordType(name="case", model=Case, form=CaseForm, singular="Case",
                                              plural="Cases", fields=[], blueprint="cases"))
    if "cases.index" not in app.view_functions:
        engine.drill_url = lambda *args, **kwargs: None  # type: ignore[assignment]


def build(app: Flask, rows: int, say: Say) -> dict[str, Any]:
    """Fill the database: the tree, then the cases in bulk."""
    rng = random.Random(20261203)
    tree, owners, facts = _tree()
    now = utcnow()
    classes = list(owners)
    with app.app_context(), bulk_connection() as conn:
        insert_tree(conn, tree)
        batch: list[dict[str, Any]] = []
        for i in range(rows):
            klass = classes[i % len(classes)]
            at = now - timedelta(days=rng.random() * 400)
            workflow = rng.choice(WORKFLOWS)
            level = rng.choice([1, 2, 2, 3, 3, 4, 5]) if workflow == "complaint" else None
            due = at + timedelta(hours={1: 24, 2: 48, 3: 72}.get(level or 0, 120))
            resolved = at + timedelta(hours=rng.random() * 200) if rng.random() < 0.66 else None
            batch.append({**_owned(rng.choice(owners[klass]), klass, at), "id": i + 1, "workflow": workflow,
                          "subject": f"Case {i + 1}", "state": "closed" if resolved else "assigned", "level": level,
                          "due_at": due, "resolved_at": resolved, "closed_at": resolved,
                          "satisfaction": rng.randint(1, 5) if resolved and rng.random() < 0.5 else None})
            if len(batch) == BATCH:
                conn.execute(insert(Case.__table__), batch)
                batch = []
        if batch:
            conn.execute(insert(Case.__table__), batch)
        say(f"{rows:,} cases")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    with app.app_context():
        db.engine.dispose()
    return facts


def _generation(rounds: int) -> tuple[float, float, int]:
    """Median seconds to generate one student's Service desk book and their Sales basics book; service rows."""
    from seed import generate, load_scenario

    desk, basics = load_scenario(SCENARIOS / "service-desk.yaml"), load_scenario(SCENARIOS / "sales-basics.yaml")
    roster = [{"user_id": 10, "username": "stu01", "class_id": 5}]
    start_at = datetime(2026, 3, 2, 1, 30)
    desk_times, sales_times, rows = [], [], 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = generate(desk, roster, start_at)
        desk_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        generate(basics, roster, start_at)
        sales_times.append(time.perf_counter() - t0)
        rows = sum(len(out[t]) for t in ("campaigns", "campaign_members", "cases", "case_history"))
    return statistics.median(desk_times), statistics.median(sales_times), rows


def run(measure: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """Build the data in a temporary database, time the service reports per viewer; (measures, table)."""
    rows = QUICK_ROWS if quick else FULL_ROWS
    rounds, warmup = (3, 1) if quick else (15, 3)
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-service-") as folder:
        app = _app(Path(folder))
        _case_type(app)
        create_schema(app)
        start = time.perf_counter()
        facts = build(app, rows, lambda msg: say(f"bench: service: {msg}"))
        built = time.perf_counter() - start
        measures, lines = measure_reports(app, facts, REPORTS, measure, "service", rounds, warmup, say,
                                          {"klass": facts["klass"], "now": utcnow()})
        with app.app_context():
            db.engine.dispose()
    say("bench: service: generating books …")
    desk_s, sales_s, service_rows = _generation(3 if quick else 9)
    ratio = sales_s / desk_s
    measures.append(measure("service.generate_book", round(desk_s * 1000, 3), "ms", round(sales_s * 1000, 3),
                            round(ratio, 3)))
    lines += ["", f"{'generate one book':<26}{service_rows:>7}{desk_s * 1000:>10.2f}{sales_s * 1000:>10.2f}"
                  f"{ratio:>8.2f}  {'ok' if ratio >= GENERATION_TARGET else 'BELOW'} (target ≥ {GENERATION_TARGET};"
                  " Service desk ÷ Sales basics; rows: its campaigns, members, cases and history)"]
    head = [
        f"service: the service reports · {rows:,} cases in 2 classes · data built in {built:.1f} s"
        f" · median of {rounds} requests each",
        "ratio = hand-written GROUP BY query ÷ report page (the page: visibility, filters, labels, chart, template)",
        "",
        f"{'report':<14}{'viewer':<12}{'groups':>7}{'page ms':>10}{'sql ms':>10}{'ratio':>8}  target ≥ {TARGET}",
    ]
    return measures, "\n".join(head + lines)
