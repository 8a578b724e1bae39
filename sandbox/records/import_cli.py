"""`sandbox import TYPE FILE --user USERNAME`: the web import's checks and service, with progress bars."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import select

from .. import access
from ..auth.usernames import username_is
from ..extensions import db
from ..oplog import set_actor
from ..org.models import User
from . import importing
from .extras import REGISTRY, find_views
from .import_views import finish
from .services import NotAllowed


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def run_cli_import(record_type: str, file: Path, username: str, good_rows_only: bool) -> None:
    """Import a CSV as a user (owner of the new records); exits non-zero when nothing was imported."""
    with current_app.test_request_context():
        v = find_views(record_type)
        if v is None:
            _fail(f"unknown record type {record_type!r}; one of: {', '.join(sorted(REGISTRY))}")
        user = db.session.scalar(select(User).where(username_is(username)))
        if user is None or not user.is_active:
            _fail(f"no active user {username!r}")
        if not user.can_change:
            _fail(f"{username} is a read-only user and cannot import")
        set_actor(user)
        access.use_viewer(access.viewer_for(user))
        started = time.perf_counter()
        try:
            parsed = importing.parse(v, file.read_bytes(), file.name)
        except importing.ImportFileError as exc:
            _fail(exc.message)
        with click.progressbar(length=len(parsed.rows), label="checking rows ", file=sys.stderr) as bar:
            check = importing.validate(v, parsed, progress=bar.update)
        todo = len(check.rows) if (good_rows_only or not check.errors) else 0
        try:
            with click.progressbar(length=todo, label="importing     ", file=sys.stderr) as bar:
                result = finish(v, check, file.name, good_rows_only, started, progress=bar.update)
        except NotAllowed:
            _fail(f"{username} may not create {record_type}")
        for error in result.errors:
            click.echo(f"{file.name}:{error.line}: {error.field}: {error.message}", err=True)
        click.echo(f"{result.imported} of {result.total} rows imported, {result.bad_rows} with errors, "
                   f"{result.seconds:.1f} s")
        if result.imported == 0:
            if result.errors and not good_rows_only:
                _fail("nothing was imported because some rows have errors (--good-rows-only imports the others)")
            _fail("nothing was imported")
