"""Production serving: `sandbox serve --workers N` runs gunicorn over `sandbox.wsgi:app`.

Each worker is its own process with its own app and database pool (the app is not preloaded in the
master: a connection opened before the fork would be shared by every worker). Whatever several workers
must agree on lives in the database (sign-in throttle, cached books, sessions' revocation), so N workers
behave as one. Workers are sync by default, gthread when `threads` > 1.

`--workers auto` starts one sync worker per core this process may run on. Sync workers are CPU-bound here
(a request waits on the database for a small part of its time), so more runnable workers than cores only take
turns on them: in the lecture hall on this 2-core machine, 4 workers spent about a third more CPU per request
than 2 at the same load (time-slicing evicts each process's working set from the CPU caches), and 2 workers held
far more students (docs/DEPLOY.md §3 and §7).
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import click

BIN = Path(sys.executable).parent

# The cyclic collector's thresholds in a serving process. Python's (700, 10, 10) suit small scripts: a page
# allocates tens of thousands of objects, nearly all gone when it ends, so the young generations are scanned
# dozens of times a page and survivors reach the old generation early, whose full scans (every kept cache of the
# worker) took ~220 ms each, a pause in the middle of somebody's page. With these a page sees one or two young
# scans and a full one comes far more rarely (measured in process over the lecture hall's mix: 50-65 ms of
# collection for 732 pages instead of 320-360, no full scan).
SERVING_GC_THRESHOLDS = (10_000, 50, 20)


def tune_collector() -> None:
    """Set a serving process's collector: the app built at start-up is frozen out of every later scan (it lives
    as long as the process), and the thresholds above apply."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLDS)


def cores() -> int:
    """The cores this process may run on (its CPU affinity: a container's or taskset's limit), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class WorkerCount(click.ParamType):
    """`--workers`: a number from 1 to 64, or `auto` (one per core)."""

    name = "N|auto"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """The number of workers, or a usage error naming what was given."""
        if isinstance(value, int):
            number = value
        elif str(value).strip().lower() == "auto":
            return min(64, cores())
        else:
            try:
                number = int(str(value))
            except ValueError:
                self.fail(f"{value!r} is neither a number of workers nor auto", param, ctx)
        if not 1 <= number <= 64:
            self.fail(f"{number} workers: give 1 to 64, or auto (one per core)", param, ctx)
        return number


def gunicorn_command(host: str, port: int, workers: int, threads: int = 1, timeout: int = 120) -> list[str]:
    """The gunicorn command line `sandbox serve --workers N` replaces itself with."""
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", f"{host}:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread" if threads > 1 else "sync",
        "--threads", str(threads),
        # A scenario reset of a large class runs inside one request: the default 30 s would kill it.
        "--timeout", str(timeout),
        "--graceful-timeout", "10",
        "sandbox.wsgi:app",
    ]
