"""SQL expressions the reports need that SQLite and PostgreSQL write differently.

`days_between(start, end)` is the time from one timestamp to another in days (a fraction), written
once for both databases: SQLite subtracts Julian day numbers, PostgreSQL divides the seconds of an
interval. Times are the naive UTC timestamps the app stores, so no time zone enters the difference.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class days_between(FunctionElement[float]):  # noqa: N801 - an SQL function, named as SQL names them
    """Days from `start` to `end` (negative when `end` is earlier; NULL when either is NULL)."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between)
def _days_sqlite(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"


@compiles(days_between, "postgresql")
def _days_postgresql(element: days_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    # EXTRACT(EPOCH FROM interval) is in seconds; a float keeps the fraction of a day.
    return (f"(CAST(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"
            " AS DOUBLE PRECISION) / 86400.0)")
