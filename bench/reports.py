"""`sandbox bench`, reports part: each report family's main report over 100,000 accounts, opportunities and leads.

Data (its own SQLite file, Core executemany): two classes of 5 departments, each a manager over 20
salespeople; 100,000 accounts, 100,000 opportunities (a third met one of 40 competitors) and 100,000
leads spread over both classes. For an instructor (their whole class) and a manager (20 subordinates)
each family's main report is requested through the real page (test client, signed in through the
form: visibility rule, filters, labels, chart data, template) and timed against ONE hand-written
aggregate SQL query (`text()`, GROUP BY) over the same rows in the same run. ratio = sql ÷ page
(1.0 = the page costs no more than its bare query); target ≥ 0.3.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert, text
from werkzeug.security import generate_password_hash

from sandbox import create_app
from sandbox.accounts.models import Account
from sandbox.clock import utcnow
from sandbox.competitors.models import Competitor
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.related_models import OpportunityCompetitor
from sandbox.org.models import PositionKind, Role

from .data import PASSWORD, _Tree, bulk_connection, create_schema, insert_tree
from .pages import sign_in

TARGET = 0.3
FULL_ROWS, QUICK_ROWS = 100_000, 5_000
CLASSES, DEPARTMENTS, PER_DEPARTMENT = 2, 5, 20
COMPETITORS = 40  # per class
BATCH = 50_000
INDUSTRIES = ["manufacturing", "retail", "it", "finance", "education", "healthcare", "logistics", "food"]
SOURCES = ["web", "phone", "referral", "trade_show", "campaign", "partner"]
STAGES = ["prospecting", "qualification", "needs_analysis", "proposal", "negotiation", "closed_won", "closed_lost"]
Say = Callable[[str], None]

# family -> (the report page, the hand-written query over the same rows; {vis} is the viewer's WHERE on alias t)
REPORTS: dict[str, tuple[str, str]] = {
    "accounts": ("/reports/accounts?report=attributes&by=industry",
                 "SELECT t.industry, count(t.id) FROM accounts t WHERE {vis} GROUP BY t.industry"),
    "opportunities": ("/reports/opportunities?report=pipeline&by=stage",
                      "SELECT t.stage, coalesce(sum(t.amount), 0), count(t.id) FROM opportunities t"
                      " WHERE {vis} AND t.stage NOT IN ('closed_won', 'closed_lost') GROUP BY t.stage"),
    "sales": ("/reports/sales?report=closed&by=month",
              "SELECT strftime('%Y-%m', t.close_date), coalesce(sum(t.amount), 0), count(t.id) FROM opportunities t"
              " WHERE {vis} AND t.stage = 'closed_won' GROUP BY 1"),
    "leads": ("/reports/leads?report=conversion&by=source",
              "SELECT t.source, sum(CASE WHEN t.converted_at IS NOT NULL THEN 1 ELSE 0 END) * 100.0 / count(t.id),"
              " count(t.id), sum(CASE WHEN t.converted_at IS NOT NULL THEN 1 ELSE 0 END)"
              " FROM leads t WHERE {vis} GROUP BY t.source"),
    "competitors": ("/reports/competitors?report=wins_losses",
                    "SELECT oc.competitor_id, sum(CASE WHEN t.stage = 'closed_won' THEN 1 ELSE 0 END),"
                    " sum(CASE WHEN t.stage = 'closed_lost' THEN 1 ELSE 0 END),"
                    " sum(CASE WHEN t.stage NOT IN ('closed_won', 'closed_lost') THEN 1 ELSE 0 END)"
                    " FROM opportunities t JOIN opportunity_competitors oc ON oc.opportunity_id = t.id"
                    " WHERE {vis} GROUP BY oc.competitor_id"),
}


def _app(folder: Path) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'reports.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "up")})


def _tree() -> tuple[_Tree, dict[int, list[int]], dict[str, Any]]:
    """org > teacher > classes > departments (a manager) > one salesperson position (20 salespeople)."""
    tree = _Tree()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, PositionKind.ORGANIZATION, "Bench School", None)
    teacher = tree.position(root, PositionKind.TEACHER, "Teacher", None)
    owners: dict[int, list[int]] = {}
    facts: dict[str, Any] = {}
    for c in range(1, CLASSES + 1):
        klass = tree.position(teacher, PositionKind.CLASS, f"Class {c}", None, join_code=f"REP{c}")
        tree.positions[-1]["class_id"] = klass
        tree.user(f"instructor{c}", f"Instructor {c}", Role.INSTRUCTOR, klass, klass, pw)
        owners[klass] = []
        for d in range(1, DEPARTMENTS + 1):
            dept = tree.position(klass, PositionKind.DEPARTMENT, f"Department {d}", klass)
            seat = tree.position(dept, PositionKind.POSITION, "Sales", klass)
            manager = tree.user(f"manager{c}_{d}", f"Manager {c}.{d}", Role.STUDENT, dept, klass, pw)
            team = [tree.user(f"s{c}_{d}_{s}", f"Sales {c}.{d}.{s}", Role.STUDENT, seat, klass, pw)
                    for s in range(1, PER_DEPARTMENT + 1)]
            owners[klass] += [manager, *team]
            if c == 1 and d == 1:
                facts.update(klass=klass, manager_team=[manager, *team])
    return tree, owners, facts


def _owned(owner: int, klass: int, at: Any) -> dict[str, Any]:
    return {"owner_id": owner, "class_id": klass, "created_by_id": owner, "created_at": at, "updated_at": at,
            "deleted_at": None, "version": 1}


def build(app: Flask, rows: int, say: Say) -> dict[str, Any]:
    """Fill the database: the tree, then accounts, opportunities (with competitors) and leads in bulk."""
    rng = random.Random(20261203)
    tree, owners, facts = _tree()
    now = utcnow()
    classes = list(owners)
    with app.app_context(), bulk_connection() as conn:
        insert_tree(conn, tree)
        rivals: dict[int, list[int]] = {}
        comp_rows = []
        for klass in classes:
            rivals[klass] = []
            for i in range(COMPETITORS):
                rivals[klass].append(len(comp_rows) + 1)
                comp_rows.append({**_owned(owners[klass][i % len(owners[klass])], klass, now), "id": len(comp_rows) + 1,
                                  "name": f"Rival {klass}-{i}", "threat_level": rng.choice(["high", "medium", "low"])})
        conn.execute(insert(Competitor.__table__), comp_rows)

        def spread(make: Callable[[int, int, int, Any], dict[str, Any]], table: Any, label: str) -> None:
            batch: list[dict[str, Any]] = []
            for i in range(rows):
                klass = classes[i % len(classes)]
                at = now - timedelta(days=rng.random() * 540)
                batch.append({**_owned(rng.choice(owners[klass]), klass, at), **make(i + 1, klass, rng.random(), at)})
                if len(batch) == BATCH:
                    conn.execute(insert(table), batch)
                    batch = []
            if batch:
                conn.execute(insert(table), batch)
            say(f"{rows:,} {label}")

        spread(lambda i, k, r, at: {"id": i, "name": f"Account {i}", "industry": rng.choice(INDUSTRIES),
                                    "source": rng.choice(SOURCES), "level": rng.choice(["gold", "silver", "normal"])},
               Account.__table__, "accounts")
        links: list[dict[str, Any]] = []

        def opportunity(i: int, klass: int, r: float, at: Any) -> dict[str, Any]:
            stage = rng.choice(STAGES)
            if r < 0.33:
                links.append({"opportunity_id": i, "competitor_id": rng.choice(rivals[klass]), "created_at": at})
            return {"id": i, "name": f"Deal {i}", "stage": stage, "probability": 50,
                    "amount": Decimal(rng.randint(1, 500) * 1000), "source": rng.choice(SOURCES),
                    "close_date": date.fromordinal(at.date().toordinal() + rng.randint(0, 120)),
                    "lost_reason": "price" if stage == "closed_lost" else None}

        spread(opportunity, Opportunity.__table__, "opportunities")
        for start in range(0, len(links), BATCH):
            conn.execute(insert(OpportunityCompetitor.__table__), links[start:start + BATCH])

        def lead(i: int, klass: int, r: float, at: Any) -> dict[str, Any]:
            converted = r < 0.2
            return {"id": i, "name": f"Lead {i}", "source": rng.choice(SOURCES),
                    "status": "converted" if converted else rng.choice(["new", "contacted", "qualified"]),
                    "converted_at": at + timedelta(days=rng.random() * 30) if converted else None}

        spread(lead, Lead.__table__, "leads")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    with app.app_context():
        db.engine.dispose()
    return facts


def _time_page(client: Any, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return elapsed


def _time_sql(app: Flask, sql: str, params: dict[str, Any]) -> tuple[float, int]:
    with app.app_context():
        start = time.perf_counter()
        found = db.session.execute(text(sql), params).all()
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed, len(found)


def viewers_sql(facts: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The measured viewers: (username, the visibility condition a hand-written query applies for them)."""
    team = ", ".join(str(u) for u in facts["manager_team"])
    return {
        "instructor": ("instructor1", "t.class_id = :klass AND t.deleted_at IS NULL"),
        "manager": ("manager1_1", f"t.class_id = :klass AND t.owner_id IN ({team}) AND t.deleted_at IS NULL"),
    }


def measure_reports(app: Flask, facts: dict[str, Any], reports: dict[str, tuple[str, str]], measure: Any,
                    prefix: str, rounds: int, warmup: int, say: Say,
                    params: dict[str, Any]) -> tuple[list[Any], list[str]]:
    """Time each report page per viewer against its hand-written query, interleaved; (measures, table lines)."""
    measures, lines = [], []
    for viewer, (username, vis) in viewers_sql(facts).items():
        say(f"bench: {prefix}: measuring as the {viewer} …")
        client = sign_in(app, username)
        for key, (url, sql) in reports.items():
            query = sql.format(vis=vis)
            for _ in range(warmup):
                _time_page(client, url)
                _time_sql(app, query, params)
            page_times, sql_times, groups = [], [], 0
            for _ in range(rounds):  # interleaved, so both see the same cache and machine load
                page_times.append(_time_page(client, url))
                elapsed, groups = _time_sql(app, query, params)
                sql_times.append(elapsed)
            page_ms, sql_ms = statistics.median(page_times) * 1000, statistics.median(sql_times) * 1000
            ratio = sql_ms / page_ms
            measures.append(measure(f"{prefix}.{key}.{viewer}", round(page_ms, 3), "ms", round(sql_ms, 3),
                                    round(ratio, 3)))
            lines.append(f"{key:<14}{viewer:<12}{groups:>7}{page_ms:>10.2f}{sql_ms:>10.2f}{ratio:>8.2f}  "
                         f"{'ok' if ratio >= TARGET else 'BELOW'}")
    return measures, lines


def run(measure: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """Build the data in a temporary database, time every family's main report per viewer; (measures, table)."""
    rows = QUICK_ROWS if quick else FULL_ROWS
    rounds, warmup = (3, 1) if quick else (15, 3)
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-reports-") as folder:
        app = _app(Path(folder))
        create_schema(app)
        start = time.perf_counter()
        facts = build(app, rows, lambda msg: say(f"bench: reports: {msg}"))
        built = time.perf_counter() - start
        measures, lines = measure_reports(app, facts, REPORTS, measure, "reports", rounds, warmup, say,
                                          {"klass": facts["klass"]})
        with app.app_context():
            db.engine.dispose()
    head = [
        f"reports: each family's main report · {rows:,} accounts, opportunities and leads in {CLASSES} classes"
        f" · data built in {built:.1f} s · median of {rounds} requests each",
        "ratio = hand-written GROUP BY query ÷ report page (the page: visibility, filters, labels, chart, template)",
        "",
        f"{'family':<14}{'viewer':<12}{'groups':>7}{'page ms':>10}{'sql ms':>10}{'ratio':>8}  target ≥ {TARGET}",
    ]
    return measures, "\n".join(head + lines)
