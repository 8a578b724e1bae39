"""`sandbox bench`, customer analytics part: the RFM page over 100,000 opportunities of 20,000 accounts.

Data (its own SQLite file, built with Core executemany): one class of 3 departments × 20 students; each
student owns ~333 accounts and ~1,667 opportunities on them (a third won, a sixth lost, the rest open), close
dates over the last three years. Measured: `GET /reports/customers` (the whole page: filters, one aggregate
query through the visibility rule, quintile scores and segments for every account, the chart data, the
table) as the class's instructor, against one hand-written aggregate SQL query over the same rows
(`SELECT account_id, max(close_date), count(*), sum(amount) … GROUP BY account_id`, plain sqlite3).
ratio = baseline ms ÷ page ms (target ≥ 0.3), medians of interleaved rounds.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert
from werkzeug.security import generate_password_hash

from sandbox import create_app
from sandbox.accounts.models import Account
from sandbox.clock import utcnow
from sandbox.extensions import db
from sandbox.opportunities.models import Opportunity
from sandbox.org.models import Role

from .data import PASSWORD, _Tree, bulk_connection, create_schema, insert_tree
from .pages import sign_in

TARGET = 0.3
FULL = (20_000, 100_000)  # accounts, opportunities
QUICK = (1_000, 5_000)
DEPARTMENTS, PER_DEPARTMENT = 3, 20
BATCH = 20_000
TODAY = date(2030, 6, 30)
BASELINE = """SELECT o.account_id, a.name, max(o.close_date), count(o.id), coalesce(sum(o.amount), 0)
FROM opportunities o JOIN accounts a ON a.id = o.account_id
WHERE o.class_id = ? AND o.stage = 'closed_won' AND o.close_date IS NOT NULL
  AND o.deleted_at IS NULL AND a.deleted_at IS NULL
GROUP BY o.account_id, a.name"""

Say = Callable[[str], None]


def _app(folder: Path) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'customers.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "up")})


def build(app: Flask, accounts: int, opportunities: int, seed: int = 20300630) -> int:
    """The class, its accounts and opportunities; returns the class's id."""
    rng = random.Random(seed)
    tree = _Tree()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, "organization", "Bench School", None)
    teacher_node = tree.position(root, "teacher", "Teacher", None)
    klass = tree.position(teacher_node, "class", "Bench class", None, join_code="BENCHC", registration_open=True)
    tree.positions[-1]["class_id"] = klass
    tree.user("teacher", "Teacher", Role.INSTRUCTOR, teacher_node, None, pw)
    students = []
    for d in range(DEPARTMENTS):
        dept = tree.position(klass, "department", f"Dept {d + 1}", klass)
        seat = tree.position(dept, "position", "Sales", klass)
        for i in range(PER_DEPARTMENT):
            students.append(tree.user(f"s{d + 1}{i + 1:02d}", f"Student {d + 1}-{i + 1}", Role.STUDENT, seat, klass, pw))
    now = utcnow()
    owned = {"class_id": klass, "created_at": now, "updated_at": now, "deleted_at": None, "version": 1}
    owner_of = [students[i % len(students)] for i in range(accounts)]
    account_rows = [{"id": i + 1, "name": f"客户 {i + 1:05d}", "owner_id": owner_of[i], "created_by_id": owner_of[i],
                     **owned} for i in range(accounts)]
    stages = ["closed_won"] * 2 + ["closed_lost"] + ["prospecting", "proposal", "negotiation"]
    opp_rows = []
    for i in range(opportunities):
        account = rng.randrange(accounts)
        stage = rng.choice(stages)
        opp_rows.append({"id": i + 1, "name": f"项目 {i + 1}", "account_id": account + 1, "stage": stage,
                         "probability": 100 if stage == "closed_won" else 0 if stage == "closed_lost" else 50,
                         "amount": Decimal(rng.randint(1, 500) * 100),
                         "close_date": TODAY - timedelta(days=rng.randint(0, 1095)),
                         "lost_reason": "price" if stage == "closed_lost" else None,
                         "owner_id": owner_of[account], "created_by_id": owner_of[account], **owned})
    with app.app_context():
        with bulk_connection() as conn:
            insert_tree(conn, tree)
            for table, rows in ((Account.__table__, account_rows), (Opportunity.__table__, opp_rows)):
                for start in range(0, len(rows), BATCH):
                    conn.execute(insert(table), rows[start:start + BATCH])
            conn.commit()
        db.engine.dispose()
    return klass


def _baseline(path: Path, klass: int) -> tuple[float, int]:
    conn = sqlite3.connect(path)
    start = time.perf_counter()
    rows = conn.execute(BASELINE, (klass,)).fetchall()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, len(rows)


def _page(client: Any) -> tuple[float, str]:
    start = time.perf_counter()
    response = client.get("/reports/customers?lang=en")
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"the RFM page answered {response.status_code}")
    return elapsed, response.get_data(as_text=True)


def run(measure_cls: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """Build the data, time the RFM page against the aggregate query (interleaved medians); measures and table."""
    import sandbox.clock as clock

    accounts, opportunities = QUICK if quick else FULL
    rounds = 3 if quick else 9
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-customers-") as tmp:
        folder = Path(tmp)
        app = _app(folder)
        say(f"customers: {accounts:,} accounts, {opportunities:,} opportunities …")
        create_schema(app)
        t0 = time.perf_counter()
        klass = build(app, accounts, opportunities)
        seconds = time.perf_counter() - t0
        real_today = clock.today
        clock.today = lambda: TODAY  # the data's recency is fixed: the page counts to the same day every run
        try:
            client = sign_in(app, "teacher")
            _page(client)  # warm-up: templates, statement caches, the SQLite page cache
            _baseline(folder / "customers.db", klass)
            pages, base = [], []
            html, rows = "", 0
            for _ in range(rounds):
                elapsed, html = _page(client)
                pages.append(elapsed)
                elapsed, rows = _baseline(folder / "customers.db", klass)
                base.append(elapsed)
        finally:
            clock.today = real_today
        with app.app_context():
            db.engine.dispose()
    if f"of {rows} accounts" not in html:  # "The first 300 of N accounts are shown"
        raise RuntimeError("the page does not account for every account the baseline found")
    value, baseline = statistics.median(pages) * 1000, statistics.median(base) * 1000
    measure = measure_cls("customers.rfm_instructor", round(value, 3), "ms", round(baseline, 3),
                          round(baseline / value, 3))
    verdict = "ok" if measure.ratio >= TARGET else "BELOW"
    table = "\n".join([
        f"customer analytics · RFM page for the instructor of a {DEPARTMENTS * PER_DEPARTMENT}-student class:"
        f" {accounts:,} accounts, {opportunities:,} opportunities ({rows:,} accounts with won deals)"
        f" · built in {seconds:.1f} s · median of {rounds}",
        f"baseline: {' '.join(BASELINE.split())}",
        "",
        f"{'measure':<32}{'page ms':>14}{'baseline ms':>13}{'ratio':>8}  target ≥ {TARGET}",
        f"{measure.name:<32}{measure.value:>14.2f}{measure.baseline:>13.2f}{measure.ratio:>8.2f}  {verdict}",
    ])
    return [measure], table
