"""The one family of refusals a service raises; the request boundary (boundary.py) shows them.

A service that refuses raises `ServiceError(message, field)`: the message is for the user, already
translated; `field` names the form field it belongs next to. Subclasses only choose the HTTP status.
"""

from __future__ import annotations

from typing import Any


class ServiceError(ValueError):
    """A change refused for a reason the user must read (next to `field`, else as a flash)."""

    status = 400

    def __init__(self, message: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(ServiceError):
    """The actor may see the thing but not change it: always a 403, never a form error."""

    status = 403


class Conflict(ServiceError):
    """The thing changed since the user loaded it (an optimistic-lock version mismatch)."""

    status = 409


# --- The database is away: a "try again" page (503), never a traceback -----------------------------------
#
# A PostgreSQL server that restarts, a network cut, a SQLite file that cannot be opened: the request
# cannot be served, but nothing is wrong with what the user did. They get a translated page saying to try
# again in a few seconds (503 with Retry-After), and the app needs no restart: the session is discarded,
# and `pool_pre_ping` (app_setup) replaces the dead pooled connections on the next checkout.

RETRY_AFTER_SECONDS = 5

# SQLite reports some programming errors as OperationalError too; those are bugs (a 500), not an outage.
_SQLITE_BUGS = ("no such table", "no such column", "syntax error", "has no column")


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached (or used) right now, rather than a bug."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.PendingRollbackError):
        # A lost connection met earlier in the request by code that carried on (a page's optional badge):
        # the same outage. The other kind (a failed flush carried on) is a bug.
        return "can't reconnect" in str(exc).lower()
    if isinstance(exc, sa_exc.OperationalError):
        return not any(text in str(exc.orig).lower() for text in _SQLITE_BUGS)
    return isinstance(exc, sa_exc.InterfaceError | sa_exc.DisconnectionError | sa_exc.TimeoutError)


def register_database_errors(app: Any) -> None:
    """Answer every request that meets an unreachable database with the translated 503 page."""
    from flask import g, has_request_context, render_template, request
    from sqlalchemy import exc as sa_exc

    from .extensions import db

    def unavailable(exc: Exception) -> Any:
        if not database_unavailable(exc):
            raise exc  # a bug: the ordinary 500 page, with the traceback in the server log
        app.logger.warning("database unavailable (%s %s): %s", request.method, request.path,
                           str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        try:  # the connection may be dead: discarding the session must not fail in turn
            db.session.rollback()
        except Exception:  # noqa: BLE001 - any failure here only means the session is already gone
            pass
        db.session.remove()
        # Who is signed in and their language are read from the database: the page uses neither (an
        # anonymous user for the templates' context, the language from the request alone).
        g._login_user = app.login_manager.anonymous_user()
        g.force_locale = _request_locale(app, request)
        page = render_template("errors/503.html", retry=RETRY_AFTER_SECONDS,
                               again=request.url if request.method == "GET" else None)
        return page, 503, {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}

    for kind in (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
                 sa_exc.PendingRollbackError):
        app.register_error_handler(kind, unavailable)

    @app.teardown_appcontext
    def end_session(_exc: BaseException | None) -> None:
        # Registered after Flask-SQLAlchemy's own teardown, so it runs before it. The database may go away
        # between a page's last query and the end of its transaction: the page is made (and a write request
        # committed before its response), so ending the transaction failing loses nothing. Raised here, outside
        # every error handler, it became a 500 instead of that page. The dead connection is invalidated, and
        # pool_pre_ping replaces it on a later checkout.
        transaction = db.session().get_transaction() if db.session.registry.has() else None
        try:
            db.session.remove()
        except sa_exc.SQLAlchemyError as exc:
            if not database_unavailable(exc):
                raise
            where = f"{request.method} {request.path}" if has_request_context() else "no request"
            app.logger.warning("database unavailable at the end of a transaction (%s): %s", where,
                               str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            # The failed close has let go of its connections without returning them: each would stay checked
            # out, and open on the server with its transaction's locks if the database is in fact still there,
            # until the garbage collector found it (a TRUNCATE waited on one for minutes). Closed here instead.
            held = getattr(transaction, "_connections", None) or {}
            for connection, *_rest in list(held.values()):
                try:
                    connection.invalidate()
                except Exception:  # noqa: BLE001 - the session is being discarded whatever happens here
                    pass
            db.session.registry.clear()


def _request_locale(app: Any, request: Any) -> str:
    """The language of a page shown without the database: ?lang=, the cookie, the browser, the default."""
    from flask import g

    choices = app.config["LANGUAGES"]
    for choice in (g.get("force_locale"), request.args.get("lang"), request.cookies.get("lang")):
        if choice in choices:
            return choice
    best = request.accept_languages.best_match(["zh", "zh_CN", "zh_Hans_CN", "en"])
    if best and best.startswith("zh"):
        return "zh_Hans_CN"
    return "en" if best == "en" else app.config["BABEL_DEFAULT_LOCALE"]
