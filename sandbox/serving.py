"""Production serving: `sandbox serve --workers N` runs gunicorn over `sandbox.wsgi:app`.

Each worker is its own process with its own app and database pool (the app is not preloaded in the
master: a connection opened before the fork would be shared by every worker). Whatever several workers
must agree on lives in the database (sign-in throttle, cached books, sessions' revocation), so N workers
behave as one. Workers are sync by default, gthread when `threads` > 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent


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
