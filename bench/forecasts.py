"""Forecast roll-up: the instructor's team page of a 60-student class over 100,000 opportunities.

Data (its own SQLite file, Core executemany): one class of 6 departments × 10 students under one
instructor, 100,000 opportunities spread over the students and over four quarters (a quarter of them close
in the measured one), at every stage, some with a forecast category of their own, and a quota per student.
Measured: `GET /forecasts/?quarter=…` as the instructor (the roll-up: one line per student with quota, closed
won, commit, best case, pipeline, quota %, remaining), the whole request through the visibility rule and the
template. Baseline: the hand-written aggregate SQL over the same rows (`SELECT owner_id, CASE … END, sum(amount),
count(*) … GROUP BY owner_id, 2` plus the quotas), on the same connection pool, in turns with the page.
Ratio = SQL ms ÷ page ms (target ≥ 0.3).
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
from sandbox.clock import utcnow
from sandbox.extensions import db
from sandbox.forecasts.models import Quota
from sandbox.opportunities.models import Opportunity
from sandbox.org.models import Role

from .data import PASSWORD, _Tree, bulk_connection, create_schema, insert_tree
from .pages import sign_in

TARGET = 0.3
FULL_OPPORTUNITIES, QUICK_OPPORTUNITIES = 100_000, 5_000
DEPARTMENTS, PER_DEPARTMENT = 6, 10
QUARTER = "2030-Q1"
STAGES = [("prospecting", 10), ("qualification", 20), ("needs_analysis", 30), ("value_proposition", 50),
          ("proposal", 65), ("negotiation", 80), ("closed_won", 100), ("closed_lost", 0)]
RAW = """
SELECT owner_id,
       CASE WHEN stage = 'closed_won' THEN 'closed'
            WHEN stage = 'closed_lost' THEN 'omitted'
            WHEN forecast_category IN ('pipeline', 'best_case', 'commit', 'omitted') THEN forecast_category
            WHEN probability >= 80 THEN 'commit'
            WHEN probability >= 50 THEN 'best_case'
            ELSE 'pipeline' END AS category,
       coalesce(sum(amount), 0), count(*)
FROM opportunities
WHERE class_id = :class_id AND deleted_at IS NULL AND close_date >= :first AND close_date < :end
GROUP BY owner_id, category
"""
RAW_QUOTAS = "SELECT owner_id, amount FROM quotas WHERE class_id = :class_id AND fiscal_year = 2030 AND quarter = 1"


def _app(folder: Path) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'forecasts.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "up")})


def build(app: Flask, opportunities: int) -> tuple[int, list[int]]:
    """The class, its students, their opportunities and quotas; returns the class id and the student ids."""
    rng = random.Random(2026)
    tree = _Tree()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, "organization", "Bench School", None)
    teacher_node = tree.position(root, "teacher", "Teacher", None)
    klass = tree.position(teacher_node, "class", "Bench class", None)
    tree.positions[-1]["class_id"] = klass
    tree.user("teacher", "Teacher", Role.INSTRUCTOR, teacher_node, None, pw)
    students = []
    for d in range(DEPARTMENTS):
        dept = tree.position(klass, "department", f"Dept {d + 1}", klass)
        seat = tree.position(dept, "position", "Sales", klass)
        for i in range(PER_DEPARTMENT):
            students.append(tree.user(f"s{d}{i:02d}", f"Student {d}-{i}", Role.STUDENT, seat, klass, pw))
    now = utcnow()
    first = date(2029, 10, 1)  # four quarters: 2029-Q4 … 2030-Q3, the measured one second
    rows = []
    for n in range(opportunities):
        stage, probability = STAGES[rng.randrange(len(STAGES))]
        owner = students[n % len(students)]
        rows.append({"owner_id": owner, "class_id": klass, "created_by_id": owner, "created_at": now,
                     "updated_at": now, "deleted_at": now if n % 50 == 0 else None, "version": 1,
                     "name": f"Deal {n}", "stage": stage, "probability": probability,
                     "amount": Decimal(rng.randint(1, 500) * 1000), "close_date": first + timedelta(days=rng.randrange(365)),
                     "forecast_category": rng.choice(("commit", "best_case", "omitted")) if n % 7 == 0 else None,
                     "lost_reason": "price" if stage == "closed_lost" else None})
    quotas = [{"owner_id": s, "class_id": klass, "created_by_id": 1, "created_at": now, "updated_at": now,
               "deleted_at": None, "version": 1, "fiscal_year": 2030, "quarter": 1,
               "amount": Decimal(rng.randint(10, 40) * 100_000)} for s in students]
    with app.app_context():
        with bulk_connection() as conn:
            insert_tree(conn, tree)
            for start in range(0, len(rows), 20_000):
                conn.execute(insert(Opportunity.__table__), rows[start:start + 20_000])
            conn.execute(insert(Quota.__table__), quotas)
            conn.commit()
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        db.engine.dispose()
    return klass, students


def _raw(app: Flask, class_id: int) -> float:
    """Seconds for the hand-written aggregate (and the quotas) over the same rows."""
    params = {"class_id": class_id, "first": date(2030, 1, 1), "end": date(2030, 4, 1)}
    with app.app_context():
        start = time.perf_counter()
        with db.engine.connect() as conn:
            rows = conn.execute(text(RAW), params).all()
            quotas = conn.execute(text(RAW_QUOTAS), params).all()
        elapsed = time.perf_counter() - start
    if not rows or not quotas:
        raise RuntimeError("the baseline found nothing")
    return elapsed


def run(measure_cls: Any, quick: bool, say: Callable[[str], None]) -> tuple[list[Any], str]:
    """Measure the instructor's forecast roll-up against the raw aggregate; returns the measure and a table."""
    opportunities, rounds, warmup = (QUICK_OPPORTUNITIES, 5, 1) if quick else (FULL_OPPORTUNITIES, 9, 2)
    students = DEPARTMENTS * PER_DEPARTMENT
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-forecasts-") as tmp:
        folder = Path(tmp)
        app = _app(folder)
        say(f"forecasts: {students} students, {opportunities:,} opportunities …")
        create_schema(app)
        class_id, _ids = build(app, opportunities)
        client = sign_in(app, "teacher")
        url = f"/forecasts/?quarter={QUARTER}"
        page_s: list[float] = []
        raw_s: list[float] = []
        for i in range(warmup + rounds):
            start = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - start
            if response.status_code != 200 or response.get_data(as_text=True).count('<tr data-key="') != students:
                raise RuntimeError(f"GET {url} answered {response.status_code} without the {students} lines")
            raw = _raw(app, class_id)
            if i >= warmup:
                page_s.append(elapsed)
                raw_s.append(raw)
        with app.app_context():
            db.engine.dispose()
    page_ms, raw_ms = statistics.median(page_s) * 1000, statistics.median(raw_s) * 1000
    measure = measure_cls(f"forecasts.rollup_{students}", round(page_ms, 2), "ms", round(raw_ms, 2),
                          round(raw_ms / page_ms, 3))
    verdict = "ok" if measure.ratio >= TARGET else "BELOW"
    table = "\n".join([
        f"forecast roll-up: the instructor's /forecasts/ page, {students} students, {opportunities:,} opportunities"
        f" (median of {rounds} turns)",
        "ratio = the hand-written aggregate SQL ms ÷ page ms (the whole request: visibility rule, queries, template)",
        "",
        f"{'measure':<24}{'page ms':>10}{'sql ms':>10}{'ratio':>8}  target ≥ {TARGET}",
        f"{measure.name:<24}{page_ms:>10.2f}{raw_ms:>10.2f}{measure.ratio:>8.2f}  {verdict}",
    ])
    return [measure], table
