"""What every page benchmark needs: a timed GET that must succeed, and the query plans of one request."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from sandbox.extensions import db

from .data import PASSWORD

# The lecture-hall issue's target ratio for the list pages and the opportunity page (0.4 before it).
TARGET = 0.6


class BenchError(RuntimeError):
    """The benchmark could not measure what it claims to measure."""


def timed_get(client: FlaskClient, url: str) -> tuple[float, str]:
    """Seconds and body of GET url; BenchError unless it answered 200."""
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise BenchError(f"GET {url} answered {response.status_code}")
    return elapsed, response.get_data(as_text=True)


def paired_medians(client: FlaskClient, real_url: str, base_url: str, rounds: int, warmup: int) -> tuple[float, float]:
    """Median milliseconds of the real page and of its baseline, requested in turns (after `warmup` turns)."""
    for _ in range(warmup):
        timed_get(client, real_url)
        timed_get(client, base_url)
    real: list[float] = []
    base: list[float] = []
    for _ in range(rounds):
        real.append(timed_get(client, real_url)[0])
        base.append(timed_get(client, base_url)[0])
    return statistics.median(real) * 1000, statistics.median(base) * 1000


def query_plans(app: Flask, client: FlaskClient, url: str, keep: Callable[[str], Any]) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement one GET of url runs that `keep` selects."""
    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if keep(statement):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        timed_get(client, url)
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    lines: list[str] = []
    with engine.connect() as conn:
        for statement, parameters in seen:
            lines.append(" ".join(statement.split())[:160] + " …")
            for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters):
                lines.append(f"    {row[-1]}")
    return lines


def sign_in(app: Flask, username: str) -> FlaskClient:
    """A test client signed in through the real sign-in form (every bench user has the bench password)."""
    client = app.test_client()
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
    if response.status_code != 302:
        raise BenchError(f"sign-in of {username} failed with {response.status_code}")
    return client
