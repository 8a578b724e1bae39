"""The inbox: /notifications/ (newest first, paged), mark one read, mark all read; the navigation's badge.

Every query names the reader (`user_id`): a notification is personal, so another user's id is simply not
found (404). The badge is one query per page (`services.badge_state`), which also tells the lazy scan of due
events (jobs.py) whether it is due.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db, mail
from ..numbers import page_number
from . import bp
from .jobs import lazy_scan_due, scan_in_own_transaction
from .mail import deliver_committed
from .render import render_all
from .services import inbox_query, mark_all_read, mark_read

PAGE = 25
log = logging.getLogger(__name__)


@bp.record_once
def _setup(state: Any) -> None:
    """Bind Flask-Mail to the app (it sends only when MAIL_SERVER is set)."""
    mail.init_app(state.app)


@bp.get("/")
def index() -> str:
    """The reader's notifications, newest first, unread highlighted, each with a link when the record is visible."""
    page = page_number(request.args)
    stmt = inbox_query(current_user.id)
    notes = list(db.session.scalars(stmt.limit(PAGE).offset((page - 1) * PAGE)))
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return render_template("notifications/index.html", items=render_all(notes), page=page, total=total, size=PAGE)


@bp.post("/<int:notification_id>/read")
def read(notification_id: int) -> Any:
    """Mark one of the reader's notifications read (another user's: 404), then show the inbox again."""
    mark_read(current_user.id, notification_id)
    return redirect(url_for("notifications.index", page=request.args.get("page", type=int) or None))


@bp.post("/read-all")
def read_all() -> Any:
    """Mark every unread notification of the reader read."""
    n = mark_all_read(current_user.id)
    flash(_("%(n)d notification(s) marked read.", n=n) if n else _("No unread notifications."), "success")
    return redirect(url_for("notifications.index"))


@bp.after_app_request
def _send_committed(response: Any) -> Any:
    # The request boundary has committed (or discarded) by now: email what this request's commit made real.
    try:
        deliver_committed()
    except SQLAlchemyError:  # never let mail bookkeeping turn a saved change into an error page
        log.warning("delivering notification emails failed", exc_info=True)
    return response


@bp.app_context_processor
def _badge_helpers() -> dict[str, Any]:
    return {"notification_badge": notification_badge}


def notification_badge() -> int:
    """The signed-in user's unread count for the navigation (scanning for due events first when it is time)."""
    from .services import badge_state

    if not current_user.is_authenticated:
        return 0
    try:
        unread, last_scan = badge_state(current_user.id)
    except SQLAlchemyError:
        # An error page rendered after a failed transaction still renders; it shows no badge.
        log.warning("unread notification count failed", exc_info=True)
        return 0
    # Only while a GET renders: a GET holds no write lock (it writes nothing), while a POST that re-renders its
    # form may, and on SQLite the scan's own transaction would wait for it.
    if request.method == "GET" and lazy_scan_due(last_scan):
        unread += scan_in_own_transaction(current_user.id)
    return unread


__all__ = ["index", "read", "read_all"]
