"""`/healthz`: is this worker up and can it reach the database? Answered with as little work as possible.

A load balancer or a load test asks it many times a second, so it skips everything a page needs: the
session cookie is not read (the session interface hands it a null session, and nothing is written back),
no user, viewer or actor is computed (`app_setup.STATIC_ENDPOINTS`), the limiter leaves it alone, and the
database is asked one `SELECT 1` on a pooled connection, outside the ORM session. When that fails the
answer is 503, so a proxy takes the worker out of rotation until the database is back.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db, limiter

PATH = "/healthz"


class HealthExemptSessions(SessionInterface):
    """The app's own session interface, except that a health check gets no session at all."""

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        """No session (Flask then uses a null one) for the health check; otherwise the real one."""
        if request.path == PATH:
            return None
        return self.inner.open_session(app, request)

    def make_null_session(self, app: Flask) -> Any:
        """The inner interface's null session."""
        return self.inner.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        """Whether `obj` is a null session (never saved)."""
        return self.inner.is_null_session(obj)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Save through the inner interface (a health check's null session is never saved)."""
        self.inner.save_session(app, session, response)


def database_answers() -> bool:
    """One `SELECT 1` on a pooled connection: False when the database is away."""
    try:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError:
        return False
    return True


def install(app: Flask) -> None:
    """Add the `health` endpoint at /healthz and exempt it from the session machinery and the limiter."""

    def health() -> tuple[str, int, dict[str, str]]:
        """200 "ok" when the database answers, 503 "database unavailable" when it does not."""
        if database_answers():
            return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}
        return "database unavailable", 503, {"Content-Type": "text/plain; charset=utf-8", "Retry-After": "5"}

    app.add_url_rule(PATH, "health", limiter.exempt(health), methods=["GET"])
    app.session_interface = HealthExemptSessions(app.session_interface)
