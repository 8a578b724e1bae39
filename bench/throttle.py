"""`sandbox bench`, throttle part: what counting sign-in attempts in the database costs.

The sign-in throttle's counters live in `rate_limit_counters` (`sandbox/limiter_store.py`), so every worker
counts together. Data: its own SQLite file (WAL, as served), one organisation, no users. Measured:

* `throttle.failed_sign_in`: a refused sign-in (`POST /auth/login`, unknown username, the production
  password hash for timing equality) with the throttle on (two counters read before, two upserts after)
  against the same POST with the limiter switched off, in turns. Ratio ≈ 1 means the shared store is
  lost in the cost of the sign-in itself;
* `throttle.incr`: one `DatabaseStorage.incr` (its own transaction: one `INSERT … ON CONFLICT DO UPDATE …
  RETURNING`, committed) against the cheapest committed transaction on the same engine (`BEGIN; SELECT 1;
  COMMIT`), 200 calls a round: the ratio is the upsert's own cost over a bare round trip.

Ratio = baseline ÷ measured, from the round with the median ratio.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import literal, select

from sandbox import access, create_app
from sandbox.extensions import db, limiter
from sandbox.limiter_store import DatabaseStorage
from sandbox.oplog import set_actor

from .data import create_schema

Say = Callable[[str], None]


def _app(folder: Path) -> Flask:
    # The limits are far away: every attempt is counted, none refused, so both sides do the same sign-in work.
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'throttle.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": True, "UPLOAD_FOLDER": str(folder / "up"),
                       "LOGIN_RATE_LIMIT": "1000000 per minute", "LOGIN_ADDRESS_RATE_LIMIT": "1000000 per minute"})


def _median_pair(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """(real, baseline) of the round with the median ratio."""
    return sorted(pairs, key=lambda p: p[1] / p[0])[len(pairs) // 2]


def _post(client: Any) -> float:
    start = time.perf_counter()
    response = client.post("/auth/login", data={"username": "nobody-here", "password": "wrong-guess-1"})
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 401:
        raise RuntimeError(f"the refused sign-in answered {response.status_code}")
    return elapsed


def run(measure_cls: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """Measure a refused sign-in with and without the database throttle, and one counter increment."""
    rounds, warmup, calls = (3, 1, 50) if quick else (15, 2, 200)
    measures = []
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-throttle-") as tmp:
        app = _app(Path(tmp))
        create_schema(app)
        with app.app_context():
            access.use_viewer(access.SYSTEM)
            set_actor(None)
            from sandbox.org.services import create_organization

            create_organization("Bench School")
            db.session.commit()
            db.session.remove()
        say("throttle: refused sign-ins with and without the database store …")
        client = app.test_client()
        pairs = []
        for i in range(warmup + rounds):
            limiter.enabled = True
            real = _post(client)
            limiter.enabled = False
            base = _post(client)
            limiter.enabled = True
            if i >= warmup:
                pairs.append((real, base))
        real_ms, base_ms = _median_pair(pairs)
        measures.append(measure_cls("throttle.failed_sign_in", round(real_ms, 2), "ms", round(base_ms, 2),
                                    round(base_ms / real_ms, 3)))

        say("throttle: counter increments against a bare transaction …")
        pairs = []
        with app.app_context():
            engine = db.engine
            store = DatabaseStorage(engine=engine)
            for i in range(warmup + rounds):
                start = time.perf_counter()
                for n in range(calls):
                    store.incr(f"bench/{n % 20}", 60)
                real = (time.perf_counter() - start) * 1000 / calls
                start = time.perf_counter()
                for _ in range(calls):
                    with engine.begin() as conn:
                        conn.execute(select(literal(1))).one()
                base = (time.perf_counter() - start) * 1000 / calls
                if i >= warmup:
                    pairs.append((real, base))
            engine.dispose()
        incr_ms, incr_base = _median_pair(pairs)
        measures.append(measure_cls("throttle.incr", round(incr_ms, 4), "ms", round(incr_base, 4),
                                    round(incr_base / incr_ms, 3)))
    lines = ["Sign-in throttle in the database (SQLite, its own file)",
             "| measure | ms | baseline ms | ratio |", "|---|---:|---:|---:|"]
    lines += [f"| {m.name} | {m.value} | {m.baseline} | {m.ratio} |" for m in measures]
    lines.append("failed_sign_in baseline: the same refused sign-in with the limiter off; "
                 "incr baseline: BEGIN; SELECT 1; COMMIT on the same engine.")
    return measures, "\n".join(lines)
