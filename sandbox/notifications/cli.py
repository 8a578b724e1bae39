"""`sandbox notifications scan`: raise the due events of every active user (for cron), then send pending email.

Idempotent (each due event has a key), so cron may run it every few minutes; it also refreshes every user's
last-scan time, so page loads rarely need to scan. Prints how many users were scanned and what was added.
"""

from __future__ import annotations

import click

from ..cli import system_session
from ..extensions import db
from . import bp
from .jobs import scan_all
from .mail import deliver, deliver_committed, enabled, unsent_since


@bp.cli.command("scan")
def scan_command() -> None:
    """Look for overdue tasks and near scenario deadlines of every active user; email what is new (with SMTP)."""
    system_session()
    try:
        users, added = scan_all()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    sent = deliver_committed()
    if enabled():
        # A send that failed earlier (SMTP down) is tried again for a day.
        retry = unsent_since(24)
        if retry:
            sent += deliver(retry)
    click.echo(f"scanned {users} user(s): {added} notification(s) added, {sent} emailed")
