"""What every page benchmark needs: a timed GET that must succeed, and the query plans of one request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from sandbox.extensions import db


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
