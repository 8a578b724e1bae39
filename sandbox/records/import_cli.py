"""`sandbox import TYPE FILE --user USERNAME [--map "HEADER=FIELD"]`: the web import's checks and service.

Columns map as on the web (names, labels, the user's remembered choices, other CRMs' columns); `--map`
settles the rest. Unknown columns are named with the columns this type knows, on stderr.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy import select

from .. import access
from ..auth.usernames import username_is
from ..extensions import db
from ..oplog import set_actor
from ..org.models import User
from . import import_columns, importing, registry
from .import_files import read_table
from .import_mappings import remembered
from .import_service import ImportResult, finish
from .registry import RecordType
from .services import NotAllowed


def _fail(message: str) -> NoReturn:
    """Print the message on stderr and exit with status 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _known_columns(rt: Any) -> str:
    """The columns the type knows, for the message about unknown ones."""
    lines = [f"known columns of {rt.blueprint} (FIELD: label):"]
    for c in importing.column_help(rt):
        lines.append(f"  {c['name']}: {c['label']}{' (required)' if c['required'] else ''}")
    parts = [t for t, _label in import_columns.targets(rt) if ":" in t]
    lines.append(f"  parts that are joined into one field: {', '.join(parts)}")
    lines.append('map a column with --map "HEADER=FIELD" (FIELD as above, or ignore); repeat --map for more columns')
    return "\n".join(lines)


def _chosen(rt: Any, header: list[str], maps: tuple[str, ...]) -> dict[int, str]:
    """--map "HEADER=FIELD" options as column index -> target; a clear error for anything else."""
    valid = {t for t, _label in import_columns.targets(rt)}
    exact = importing.header_map(rt)
    chosen: dict[int, str] = {}
    keys = [import_columns.key(h) for h in header]
    for item in maps:
        name, sep, target = item.rpartition("=")
        if not sep or not name.strip():
            _fail(f'--map {item!r}: write it as "HEADER=FIELD"')
        target = target.strip()
        if target not in valid:
            target = exact.get(import_columns.key(target), target)
        if target not in valid:
            _fail(f"--map {item!r}: {target!r} is not a field of {rt.blueprint}\n{_known_columns(rt)}")
        k = import_columns.key(name)
        if k not in keys:
            _fail(f"--map {item!r}: the file has no column {name.strip()!r}; its columns: {', '.join(header)}")
        chosen.update({i: target for i, x in enumerate(keys) if x == k})
    return chosen


def _user(username: str) -> User:
    """The active user who may change records and imports as the owner; exits with a message otherwise."""
    user = db.session.scalar(select(User).where(username_is(username)))
    if user is None or not user.is_active:
        _fail(f"no active user {username!r}")
    if not user.can_change:
        _fail(f"{username} is a read-only user and cannot import")
    return user


def _parsed(rt: RecordType, user: User, data: bytes, filename: str, maps: tuple[str, ...]) -> importing.Parsed:
    """The file read and mapped (remembered choices, then --map); exits naming the problem otherwise."""
    try:
        chosen = _chosen(rt, read_table(data, filename).header, maps) if maps else None
        return importing.parse(rt, data, filename, remembered(user.id, rt.name), chosen)
    except importing.ColumnsNeeded as exc:
        if exc.unknown:
            _fail(f"unknown columns: {', '.join(exc.unknown)}\n{_known_columns(rt)}")
        _fail(exc.message)
    except importing.ImportFileError as exc:
        _fail(exc.message)
    raise AssertionError("unreachable")  # _fail exits


def run_cli_import(record_type: str, file: Path, username: str, good_rows_only: bool,
                   maps: tuple[str, ...] = ()) -> list[str]:
    """Import a CSV or .xlsx file as a user (owner of the new records); exits non-zero when nothing was imported.

    Runs in the command's app context, no request: the type comes from the registry, the actor and
    viewer are set for the command, and the command's boundary (cli.in_transaction) commits once at the end.
    """
    rt = registry.find(record_type)
    if rt is None:
        _fail(f"unknown record type {record_type!r}; one of: {', '.join(registry.names())}")
    user = _user(username)
    set_actor(user)
    access.use_viewer(access.viewer_for(user))
    started = time.perf_counter()
    parsed = _parsed(rt, user, file.read_bytes(), file.name, maps)
    with click.progressbar(length=len(parsed.rows), label="checking rows ", file=sys.stderr) as bar:
        check = importing.validate(rt, parsed, progress=bar.update)
    todo = len(check.rows) if (good_rows_only or not check.errors) else 0
    try:
        with click.progressbar(length=todo, label="importing     ", file=sys.stderr) as bar:
            result = finish(rt, check, file.name, good_rows_only, started, progress=bar.update)
    except NotAllowed:
        _fail(f"{username} may not create {record_type}")
    return _report(file, result, good_rows_only)


def _report(file: Path, result: ImportResult, good_rows_only: bool) -> list[str]:
    """Each refused row on stderr; the counts line for stdout; exits non-zero when nothing was imported."""
    for error in result.errors:
        click.echo(f"{file.name}:{error.line}: {error.field}: {error.message}", err=True)
    counts = f"{result.imported} of {result.total} rows imported, {result.bad_rows} with errors, {result.seconds:.1f} s"
    if result.imported == 0:
        click.echo(counts)
        if result.errors and not good_rows_only:
            _fail("nothing was imported because some rows have errors (--good-rows-only imports the others)")
        _fail("nothing was imported")
    return [counts]  # printed by the command's boundary once the rows are committed
