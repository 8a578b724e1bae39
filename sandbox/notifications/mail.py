"""Email of notifications (Flask-Mail), only when SMTP is configured (`MAIL_SERVER`); the app never needs it.

A notification is emailed after its transaction COMMITS, never before: an operation that is refused or rolled
back sends nothing. `notify()` queues the new rows on the session (`queue`); the session's commit hands their
ids on; the request (`after_app_request`, see routes.py), the lazy scan and the CLI then call
`deliver_committed()`, which sends each in its recipient's language in a short transaction of its own and sets
`emailed_at`. A send that fails is logged and leaves `emailed_at` NULL; the notification stays in the inbox
and `sandbox notifications scan` tries the unsent ones of the last day again. Users without an email get none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_mail import Message
from sqlalchemy import event, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .. import access
from ..clock import utcnow
from ..extensions import db, mail
from ..oplog import current_op, operation, set_actor
from ..org.models import User
from .models import Notification
from .render import text_of

log = logging.getLogger(__name__)

_QUEUED = "notifications_to_mail"  # session.info: Notification objects added in the open transaction
_COMMITTED = "notifications_committed"  # session.info: ids whose transaction committed, not yet sent


def enabled() -> bool:
    """Whether email is configured (MAIL_SERVER set)."""
    return has_app_context() and bool(current_app.config.get("MAIL_SERVER"))


def queue(notes: Iterable[Notification]) -> None:
    """Remember new notifications to email once their transaction commits (nothing without SMTP)."""
    notes = list(notes)
    if notes and enabled():
        db.session.info.setdefault(_QUEUED, []).extend(notes)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued:
        # The identity key is known without SQL (none may be issued here); a row never flushed has none.
        ids = [state.identity[0] for state in map(inspect, queued) if state.identity]
        session.info.setdefault(_COMMITTED, []).extend(ids)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_QUEUED, None)  # a refused operation's notifications never existed


def deliver_committed() -> int:
    """Send the notifications whose transaction committed in this session; returns how many were sent."""
    if not has_app_context():
        return 0
    ids = db.session.info.pop(_COMMITTED, None)
    if not ids or not enabled():
        return 0
    return deliver(ids)


def message_for(note: Notification, user: User) -> Message:
    """The short message of one notification, in the recipient's language (no names of codes, no ids)."""
    locale = user.locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")
    with force_locale(locale):
        text = text_of(note)
        subject = _("CRM Practice Sandbox: %(text)s", text=text)
        if len(subject) > 150:
            subject = subject[:149] + "…"
        body = [text, ""]
        link = _inbox_link()
        if link:
            body.append(_("Read it in your inbox: %(url)s", url=link))
        body.append(_("This message was sent by the CRM Practice Sandbox."))
    return Message(subject=subject, recipients=[user.email], body="\n".join(body))


def _inbox_link() -> str | None:
    """The inbox's full address when one can be made (a request, or SERVER_NAME for the CLI)."""
    if not has_request_context() and not current_app.config.get("SERVER_NAME"):
        return None
    try:
        return url_for("notifications.index", _external=True)
    except RuntimeError:
        return None


def deliver(ids: list[int]) -> int:
    """Email these notifications (those not emailed yet, to users with an email) in a transaction of their own."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():  # a fresh session: the caller's transaction, committed or not, is left alone
        access.use_viewer(access.SYSTEM)
        set_actor(None)
        rows = db.session.execute(
            select(Notification, User).join(User, User.id == Notification.user_id)
            .where(Notification.id.in_(sorted(set(ids))), Notification.emailed_at.is_(None),
                   User.email.is_not(None), User.email != "")
            .order_by(Notification.id)).all()
        sent: list[Notification] = []
        for note, user in rows:
            try:
                mail.send(message_for(note, user))
            except Exception:  # noqa: BLE001 - any SMTP, socket or encoding failure: the notification stays
                log.warning("emailing notification %s to user %s failed", note.id, user.id, exc_info=True)
                continue
            sent.append(note)
        if not sent:
            return 0
        try:
            _mark_emailed(sent)
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            log.warning("could not record that %d notification(s) were emailed", len(sent), exc_info=True)
        return len(sent)


@operation("notification.email")
def _mark_emailed(notes: list[Notification]) -> None:
    now = utcnow()
    for note in notes:
        note.emailed_at = now
    current_op().target(None, count=len(notes))


def unsent_since(hours: int = 24) -> list[int]:
    """Ids of recent notifications not emailed (a failed send, SMTP down): the CLI scan retries them."""
    since = utcnow() - timedelta(hours=hours)
    return list(db.session.scalars(
        select(Notification.id).join(User, User.id == Notification.user_id)
        .where(Notification.emailed_at.is_(None), Notification.created_at >= since,
               Notification.read_at.is_(None), User.email.is_not(None), User.email != "")))
