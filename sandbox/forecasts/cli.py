"""`sandbox forecasts import-quotas FILE --user USERNAME`: the quota CSV import of the web page, from a terminal.

It acts as USERNAME (a manager or an instructor), so the same rule applies: only salespeople below that
user's position, all rows or none, every refused row reported. Runs in the CLI's transaction boundary.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from .. import access
from ..auth.usernames import username_is
from ..cli import fail, in_transaction
from ..extensions import db
from ..oplog import set_actor
from ..org.models import User
from . import bp
from .services import QuotaError, import_quotas


@bp.cli.command("import-quotas")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="The superior who sets the quotas (manager or instructor).")
@in_transaction
def import_quotas_command(file: Path, username: str) -> list[str]:
    """Set quotas from a CSV (username, quarter, amount) as USERNAME would on /forecasts/quotas."""
    user = db.session.scalar(select(User).where(username_is(username)))
    if user is None or not user.is_active or not user.can_change:
        fail(f"no active user {username!r} who may change data")
    set_actor(user)
    access.use_viewer(access.viewer_for(user))
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{file.name}: save the file as UTF-8 CSV")
    try:
        count = import_quotas(text)
    except QuotaError as exc:
        for problem in exc.problems:
            click.echo(f"{file.name}: {problem}", err=True)
        raise
    return [f"{count} quotas set by {user.username}"]
