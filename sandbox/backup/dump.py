"""Write a backup archive from a consistent snapshot of the running database.

SQLite: the online backup API copies the database into a temporary file (readers and writers go on; the
copy is one consistent state), and the rows are read from the copy. PostgreSQL: every table is read in
ONE read-only `REPEATABLE READ` transaction, so all tables come from the same snapshot. Rows stream from
the database to the zip (server-side cursors, `yield_per`), never all in memory. The upload folder is
copied after the snapshot: a file referenced by an attachment row but missing is a warning.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.engine import Connection, Engine

from ..extensions import db
from .archive import (
    CHUNK,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    OMITTED_TABLES,
    TABLES_DIR,
    UPLOADS_DIR,
    BackupError,
    HashingWriter,
    row_encoder,
    type_tag,
)

BATCH = 5000
PROGRESS_EVERY = 200_000
# Transient files of an import in progress are not part of an installation's data.
SKIPPED_UPLOAD_DIRS = ("import-tmp",)


@dataclass
class BackupResult:
    """What a backup wrote."""

    path: Path
    tables: int
    rows: int
    files: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


def backup_database(path: Path, force: bool = False, progress: Callable[[str], None] | None = None) -> BackupResult:
    """Write the app's database and upload folder to one archive at `path` (refused if it exists, unless force).

    The archive is written to a temporary file next to `path` and renamed at the end, so a failed backup
    never leaves a half-written file under the name.
    """
    say = progress or (lambda _line: None)
    path = Path(path)
    if path.exists() and not force:
        raise BackupError(f"{path} already exists; choose another name or pass --force to overwrite it")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent}: no such folder")
    started = time.perf_counter()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with _snapshot(db.engine, tmp.parent, say) as conn:
            result = _write_archive(conn, tmp, say)
        os.replace(tmp, path)
    except sa.exc.DBAPIError as exc:
        from .restore import database_error

        raise BackupError(f"the database could not be read: {database_error(exc)}; no backup was written") from exc
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"the backup could not be written: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    result.path = path
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def _snapshot(engine: Engine, scratch: Path, say: Callable[[str], None]) -> Iterator[Connection]:
    """A connection that sees one consistent state of the whole database while the app goes on writing."""
    name = engine.dialect.name
    if name == "sqlite":
        source = engine.url.database
        if not source or source == ":memory:":
            raise BackupError("an in-memory SQLite database cannot be backed up")
        with tempfile.TemporaryDirectory(dir=scratch, prefix=".backup-") as folder:
            copy_path = Path(folder) / "snapshot.db"
            say("copying the SQLite database (online backup API)")
            src = sqlite3.connect(source, timeout=30)
            dst = sqlite3.connect(copy_path)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
            copy = sa.create_engine(f"sqlite:///{copy_path}", poolclass=sa.pool.NullPool)
            try:
                with copy.connect() as conn:
                    yield conn
            finally:
                copy.dispose()
    elif name == "postgresql":
        with engine.connect().execution_options(isolation_level="REPEATABLE READ",
                                                postgresql_readonly=True) as conn:
            with conn.begin():
                yield conn
    else:
        raise BackupError(f"backups of {name} databases are not supported")


def _source_metadata(conn: Connection) -> sa.MetaData:
    """The tables as they are in the database; each column typed as the app's model declares it when it can
    (reflection of SQLite only knows the declared type names)."""
    from .restore import reflect

    reflected = reflect(conn)
    for table in reflected.tables.values():
        model = db.metadata.tables.get(table.name)
        if model is None:
            continue
        for column in table.columns:
            if column.name in model.columns:
                column.type = model.columns[column.name].type
    return reflected


def _revision(conn: Connection) -> str:
    try:
        revisions = list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    except sa.exc.DBAPIError as exc:
        raise BackupError("the database has no schema revision (alembic_version); run `sandbox init-db` first") from exc
    if len(revisions) != 1:
        raise BackupError(f"the database has {len(revisions)} schema revisions; expected one")
    return revisions[0]


def _high_water_marks(conn: Connection, tables: list[sa.Table]) -> dict[str, dict[str, Any]]:
    """The highest id ever given per table (SQLite AUTOINCREMENT's sqlite_sequence, PostgreSQL sequences),
    which may exceed the largest id left: a restore continues above it, so ids are never given twice."""
    marks: dict[str, dict[str, Any]] = {}
    if conn.dialect.name == "sqlite":
        has = conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first()
        if has:
            for name, seq in conn.execute(sa.text("SELECT name, seq FROM sqlite_sequence")):
                marks[name] = {"column": "id", "value": int(seq)}
        return marks
    for table in tables:
        for column in table.primary_key.columns:
            seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": column.name}).scalar()
            if seq:
                last, called = conn.execute(sa.text(f"SELECT last_value, is_called FROM {seq}")).one()
                marks[table.name] = {"column": column.name, "value": int(last) if called else int(last) - 1}
    return marks


def _select(table: sa.Table, tags: list[str]) -> sa.Select[Any]:
    """Every row of a table in primary-key order; JSON columns read as their text."""
    columns = [sa.cast(c, sa.Text).label(c.name) if tag == "json" else c for c, tag in zip(table.columns, tags, strict=True)]
    order = list(table.primary_key.columns) or list(table.columns)
    return sa.select(*columns).order_by(*order)


def _write_archive(conn: Connection, target: Path, say: Callable[[str], None]) -> BackupResult:
    metadata = _source_metadata(conn)
    revision = _revision(conn)
    tables = [t for t in metadata.sorted_tables if t.name not in OMITTED_TABLES]
    names = {t.name for t in tables}
    if "alembic_version" not in names and "alembic_version" in metadata.tables:
        tables.append(metadata.tables["alembic_version"])
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "revision": revision,
        "source_engine": conn.dialect.name, "created_at": datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z",
        "omitted_tables": {name: why for name, why in OMITTED_TABLES.items() if name in metadata.tables},
        "sequences": _high_water_marks(conn, tables), "tables": [], "uploads": [], "missing_uploads": [],
    }
    total = 0
    stored_names: list[str] = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1, allowZip64=True) as archive:
        for table in tables:
            tags = [type_tag(c.type) for c in table.columns]
            encode = row_encoder(tags)
            member = f"{TABLES_DIR}{table.name}.jsonl"
            count = 0
            with archive.open(member, "w", force_zip64=True) as raw:
                out = HashingWriter(raw)
                result = conn.execution_options(yield_per=BATCH).execute(_select(table, tags))
                for batch in result.partitions():
                    out.write(b"".join(encode(row) for row in batch))
                    if table.name == "attachments":
                        index = list(table.columns.keys()).index("stored_name")
                        stored_names += [row[index] for row in batch]
                    before, count = count, count + len(batch)
                    if count // PROGRESS_EVERY != before // PROGRESS_EVERY:
                        say(f"  {table.name}: {count:,} rows…")
            say(f"  {table.name}: {count:,} rows")
            total += count
            manifest["tables"].append({
                "name": table.name, "rows": count, "member": member, "size": out.size, "sha256": out.sha.hexdigest(),
                "columns": [{"name": c.name, "type": tag} for c, tag in zip(table.columns, tags, strict=True)],
            })
        warnings = _write_uploads(archive, manifest, stored_names, say)
        archive.writestr(MANIFEST, _json(manifest))
    return BackupResult(target, len(tables), total, len(manifest["uploads"]), 0.0, warnings)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1)


def _write_uploads(archive: zipfile.ZipFile, manifest: dict[str, Any], stored_names: list[str],
                   say: Callable[[str], None]) -> list[str]:
    """Copy the upload folder's files (after the snapshot) and report attachments whose file is missing."""
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    files = []
    if folder.is_dir():
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and relative.parts[0] not in SKIPPED_UPLOAD_DIRS:
                files.append((path, relative.as_posix()))
    for path, relative in files:
        member = f"{UPLOADS_DIR}{relative}"
        try:
            with path.open("rb") as source, archive.open(member, "w", force_zip64=True) as raw:
                out = HashingWriter(raw)
                while chunk := source.read(CHUNK):
                    out.write(chunk)
        except FileNotFoundError:
            continue  # deleted since the listing (a reset removed it): its row is gone from the snapshot too
        manifest["uploads"].append({"path": relative, "member": member, "size": out.size, "sha256": out.sha.hexdigest()})
    say(f"  uploads: {len(manifest['uploads']):,} files")
    present = {u["path"] for u in manifest["uploads"]}
    missing = [name for name in stored_names if f"attachments/{name}" not in present]
    manifest["missing_uploads"] = [f"attachments/{name}" for name in missing]
    return [f"the file of attachment {name} is missing from {folder / 'attachments'}; the row is backed up without it"
            for name in missing]
