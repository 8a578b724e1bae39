"""The request boundary: every request commits once on success and rolls back on anything else.

After `install(app)` every view runs inside `_bounded`: a GET (or HEAD, OPTIONS) never commits; any
other request commits once when its response is a success or a redirect and rolls back when it answers
4xx/5xx or raises. Views therefore never call `commit()` or `rollback()` (as Indico's `RH.process`).

Services refuse with `errors.ServiceError(message, field)`. A view that shows the refusal on its form
wraps the call in `attempt(form, field)`; anywhere else the error handler below turns it into a flash and
a redirect back (or the 403 page for `NotAllowed`), after rolling back what the service had begun.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, g, has_request_context, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Forbidden

from .errors import Conflict, NotAllowed, ServiceError
from .extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def stale_message() -> str:
    """What a user reads when someone saved the same record first (an optimistic-lock conflict)."""
    return _("Someone else saved this record after you opened it. Reload it to see their changes.")


_WILL_WRITE: ContextVar[bool] = ContextVar("will_write", default=False)


def writing_request() -> bool:
    """Whether the transaction beginning now may write: inside a request that may write (any method but
    GET, HEAD, OPTIONS), or inside `will_write()` (a GET page's own small write, as the lazy scan)."""
    return _WILL_WRITE.get() or (has_request_context() and request.method not in SAFE_METHODS)


@contextmanager
def will_write() -> Iterator[None]:
    """Transactions begun inside this block write (on SQLite they take the write lock at BEGIN)."""
    token = _WILL_WRITE.set(True)
    try:
        yield
    finally:
        _WILL_WRITE.reset(token)


def keep_changes() -> None:
    """Commit this request's changes even though it answers with an error (a failed sign-in is recorded)."""
    g.keep_changes = True


def finish(response: Any) -> Any:
    """Commit or roll back the request's one transaction, depending on its method and response."""
    failed = response.status_code >= 400 and not g.get("keep_changes", False)
    if request.method in SAFE_METHODS:
        # Not committed is discarded: the session closes at the end of the request and its transaction with
        # it. No explicit rollback here, which would expire the objects a finished page may still hand on.
        return response
    if failed:
        # A refused write request ends its transaction now, before the after-request hooks: on SQLite it began
        # with BEGIN IMMEDIATE and holds the write lock, which the throttle's own counting connection needs.
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise Conflict(stale_message()) from exc
    return response


def bounded(view: Any) -> Any:
    """Wrap one view in the boundary: commit once on success, never on GET or an error answer."""

    @functools.wraps(view)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        return finish(current_app.make_response(view(*args, **kwargs)))

    return bounded


class attempt:  # noqa: N801 - used as a statement: `with attempt(form, "name") as outcome:`
    """Run a service call; a refusal is rolled back and shown next to `field` on `form` (else flashed).

    `NotAllowed` and every other exception pass through to the boundary's handlers unchanged.
    """

    def __init__(self, form: Any = None, field: str | None = None, category: str = "danger") -> None:
        self.form, self.field, self.category = form, field, category
        self.error: ServiceError | None = None

    def __enter__(self) -> attempt:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> bool:
        if exc is None:
            return False
        if isinstance(exc, StaleDataError):
            exc = Conflict(stale_message())
        if not isinstance(exc, ServiceError) or isinstance(exc, NotAllowed):
            return False
        db.session.rollback()
        self.error = exc
        target = self._field(exc)
        if target is not None:
            target.errors = [*target.errors, exc.message]
        elif exc.message:
            flash(exc.message, self.category)
        return True

    def _field(self, exc: ServiceError) -> Any:
        if self.form is None:
            return None
        for name in (exc.field, self.field):
            if name and hasattr(self.form, name):
                return getattr(self.form, name)
        return None

    @property
    def failed(self) -> bool:
        """Whether the service refused (its changes were rolled back)."""
        return self.error is not None

    @property
    def status(self) -> int:
        """The HTTP status the page should answer with: 200, or the refusal's (400, 409)."""
        return self.error.status if self.error is not None else 200


def back_url(default: str) -> str:
    """The page the request came from when it is on this site, else `default`."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if referrer and parts.netloc == request.host and parts.scheme in ("http", "https"):
        return referrer
    return default


def _refused(exc: ServiceError) -> Any:
    db.session.rollback()
    if isinstance(exc, NotAllowed):
        return current_app.handle_http_exception(Forbidden())
    if exc.message:
        flash(exc.message, "warning")
    return redirect(back_url(url_for("home.index")))


def install(app: Flask) -> None:
    """Wrap every registered view in the boundary and handle service refusals (call after blueprints)."""
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = bounded(view)
    app.register_error_handler(ServiceError, _refused)
