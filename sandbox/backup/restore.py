"""Restore an archive into an empty SQLite or PostgreSQL database (the way to move from one to the other).

Before the database is touched the archive is checked whole: a known schema revision (a newer one is
refused: this code cannot know that schema), every member's size and SHA-256. A database holding data is
refused unless `force`, which drops everything first. Then:

1. the schema is made by the real migrations up to the archive's revision (so indexes, the AUTOINCREMENT
   tables of SQLite and the log's append-only triggers are exactly those of a migrated database);
2. in ONE transaction the rows the migrations seed (default picklists) are removed and every table is
   filled in dependency order, in batches (executemany of a Core insert). Foreign keys are checked at the
   end, not row by row, so self-references (positions, accounts, runs…) load in any order: SQLite turns
   them off for the load and runs `PRAGMA foreign_key_check`; PostgreSQL drops the constraints and adds
   them back, which validates every row. The log's triggers refuse only UPDATE and DELETE, so they stay
   in force during the load and after it;
3. ids continue above the highest id the source ever gave (PostgreSQL `setval`, SQLite `sqlite_sequence`);
4. the remaining migrations bring an older archive up to this code's schema; the upload files are written
   to `UPLOAD_FOLDER`.
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.engine import Connection, Engine

from .. import kept_identity
from ..extensions import db
from .archive import OMITTED_TABLES, ArchiveReader, BackupError

BATCH = 5000
PROGRESS_EVERY = 200_000
BIG_TABLE = 50_000  # rows from which a SQLite table's indexes are built after its load
SQLITE_CACHE_KB = 256 * 1024
# Tables whose rows the migrations themselves insert: an installation with only these is still empty.
SEEDED_TABLES = ("code_values",)


@dataclass
class RestoreResult:
    """What a restore loaded."""

    revision: str
    source_engine: str
    tables: int
    rows: int
    files: int
    seconds: float
    schema_seconds: float = 0.0  # of which: running the migrations (dropping and creating the schema)
    load_seconds: float = 0.0  # of which: inserting the rows, checking references, setting sequences


class RawJSON(sa.types.TypeDecorator[str]):
    """A JSON column filled from the document's text as the archive keeps it (PostgreSQL: cast to the
    column's type; SQL NULL stays NULL, a JSON `null` stays a document)."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, target: sa.types.TypeEngine[Any]) -> None:
        super().__init__()
        self.target = target

    def bind_expression(self, bindvalue: Any) -> Any:
        """Cast the bound text to the column's JSON type."""
        return sa.cast(bindvalue, self.target)


def database_error(exc: sa.exc.DBAPIError) -> str:
    """The first line of the database's own message (no SQL statement, no parameters)."""
    return (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0][:300]


def migrations_folder() -> Path:
    """The installation's Alembic migrations."""
    return Path(current_app.root_path).parent / "migrations"


def check_revision(revision: str) -> str:
    """Refuse an archive whose schema revision this code does not know (a newer sandbox wrote it); return
    this code's head revision."""
    script = ScriptDirectory(str(migrations_folder()))
    head = script.get_current_head() or ""
    try:
        known = script.get_revision(revision) is not None
    except Exception:  # noqa: BLE001  (alembic raises several kinds for an unknown or malformed id)
        known = False
    if not known:
        raise BackupError(f"the archive's schema revision {revision!r} is unknown to this sandbox (its newest is "
                          f"{head!r}): it was made by a newer version; upgrade the sandbox, then restore")
    return head


def occupied_tables(engine: Engine) -> list[str]:
    """The tables holding data (the migration-seeded picklists and derived tables do not count)."""
    ignored = {"alembic_version", *SEEDED_TABLES, *OMITTED_TABLES}
    with engine.connect() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n not in ignored]
        return [n for n in names if conn.execute(sa.select(sa.literal(1)).select_from(sa.table(n)).limit(1)).first()]


def restore_database(path: Path, force: bool = False, progress: Callable[[str], None] | None = None) -> RestoreResult:
    """Restore the archive at `path` into the app's database and upload folder (see the module docstring)."""
    say = progress or (lambda _line: None)
    started = time.perf_counter()
    reader = ArchiveReader(Path(path))
    try:
        manifest = reader.manifest
        revision = manifest["revision"]
        head = check_revision(revision)
        reader.verify(say)
        db.session.remove()
        engine = db.engine
        occupied = occupied_tables(engine)
        if occupied and not force:
            raise BackupError(f"the database is not empty ({len(occupied)} tables hold data, e.g. {occupied[0]}); "
                              "restore into an empty database, or pass --force to replace everything in it")
        schema_started = time.perf_counter()
        _clear(engine, say)
        from flask_migrate import upgrade

        say(f"creating the schema (migrations up to revision {revision})")
        upgrade(directory=str(migrations_folder()), revision=revision)
        load_started = time.perf_counter()
        rows = _load(engine, reader, say)
        load_seconds = time.perf_counter() - load_started
        if revision != head:
            say(f"upgrading the restored database to revision {head}")
            upgrade(directory=str(migrations_folder()))
        files = _restore_uploads(reader, say)
    except sa.exc.DBAPIError as exc:
        raise BackupError(f"the database refused the restore: {database_error(exc)}; nothing was loaded") from exc
    finally:
        reader.close()
    return RestoreResult(revision, manifest["source_engine"], len(manifest["tables"]), rows, files,
                         time.perf_counter() - started, load_started - schema_started, load_seconds)


def _clear(engine: Engine, say: Callable[[str], None]) -> None:
    """Drop every table, view, trigger, sequence and function the schema had (nothing if it is new)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            inspector = sa.inspect(conn)
            tables = inspector.get_table_names()
            if tables:
                say(f"dropping {len(tables)} existing tables")
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {', '.join(_quote(conn, t) for t in tables)} CASCADE"))
            for name in inspector.get_view_names():
                conn.execute(sa.text(f"DROP VIEW IF EXISTS {_quote(conn, name)} CASCADE"))
            for name in inspector.get_sequence_names():
                conn.execute(sa.text(f"DROP SEQUENCE IF EXISTS {_quote(conn, name)} CASCADE"))
            conn.execute(sa.text("DROP FUNCTION IF EXISTS log_entries_append_only() CASCADE"))
        return
    with engine.connect() as conn:
        _foreign_keys(conn, False)
        try:
            with conn.begin():
                objects = conn.execute(sa.text(
                    "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger', 'table') "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY CASE type WHEN 'table' THEN 1 ELSE 0 END")).all()
                if objects:
                    say(f"dropping {sum(1 for kind, _ in objects if kind == 'table')} existing tables")
                for kind, name in objects:
                    conn.exec_driver_sql(f"DROP {kind.upper()} IF EXISTS {_quote(conn, name)}")
                if conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first():
                    conn.exec_driver_sql("DELETE FROM sqlite_sequence")
        finally:
            _foreign_keys(conn, True)


def _foreign_keys(conn: Connection, on: bool) -> None:
    """SQLite: turn foreign key enforcement on or off (the pragma works only outside a transaction)."""
    conn.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    conn.commit()


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _load(engine: Engine, reader: ArchiveReader, say: Callable[[str], None]) -> int:
    """Fill the migrated schema with the archive's rows in one transaction; the number of rows."""
    manifest = reader.manifest
    target = reflect(engine)
    listed = {t["name"]: t for t in manifest["tables"] if t["name"] != "alembic_version"}
    unknown = sorted(set(listed) - set(target.tables))
    if unknown:
        raise BackupError(f"the schema at revision {manifest['revision']} has no table {unknown[0]}; "
                          "the archive does not match its revision")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)  # self-referencing tables: checked at the end
        order = [t for t in target.sorted_tables if t.name in listed]
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        if not postgres:
            _foreign_keys(conn, False)
            # A big page cache: a million rows go into tables with several indexes (the default is 2 MB).
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
            conn.commit()
        try:
            with conn.begin():
                kept_identity.leave_unmoved(conn)  # the archive's own organisation stamp is restored as it was
                version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
                if version != manifest["revision"]:
                    raise BackupError(f"the migrations made revision {version}, not {manifest['revision']}")
                constraints = _drop_foreign_keys(conn) if postgres else []
                for table in reversed(order):
                    if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
                        conn.execute(table.delete())  # rows the migrations seeded
                total = 0
                for table in order:
                    with _indexes_built_after(conn, table.name, listed[table.name]["rows"], say):
                        total += _insert_table(conn, table, listed[table.name], reader, say)
                if postgres:
                    say("checking references")
                    for table_name, name, definition in constraints:
                        conn.exec_driver_sql(f'ALTER TABLE {table_name} ADD CONSTRAINT "{name}" {definition}')
                    _set_postgres_sequences(conn, target, manifest["sequences"])
                else:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise BackupError(f"{len(broken)} rows refer to rows missing from the archive "
                                          f"(e.g. {broken[0][0]} row {broken[0][1]}); nothing was restored")
                    _set_sqlite_sequences(conn, target, manifest["sequences"])
        finally:
            if not postgres:
                conn.exec_driver_sql("PRAGMA cache_size=-2000")  # SQLite's default, for the pooled connection
                _foreign_keys(conn, True)
    return total


def reflect(bind: Engine | Connection) -> sa.MetaData:
    """The database's tables (without the expression indexes reflection cannot read and does not need)."""
    metadata = sa.MetaData()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        metadata.reflect(bind)
    return metadata


@contextmanager
def _indexes_built_after(conn: Connection, table: str, rows: int, say: Callable[[str], None]) -> Iterator[None]:
    """SQLite, a big table: drop its own indexes for the load and build them after it (one sort each instead of
    a B-tree insert per row per index; the log's 1,000,000 entries load several times faster). Indexes that
    back a UNIQUE or PRIMARY KEY constraint stay (they have no SQL of their own)."""
    if conn.dialect.name != "sqlite" or rows < BIG_TABLE:
        yield
        return
    indexes = conn.execute(sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t "
                                   "AND sql IS NOT NULL"), {"t": table}).all()
    for name, _sql in indexes:
        conn.exec_driver_sql(f"DROP INDEX {_quote(conn, name)}")
    yield
    if indexes:
        say(f"  {table}: building {len(indexes)} indexes")
    for _name, sql in indexes:
        conn.exec_driver_sql(sql)


def _drop_foreign_keys(conn: Connection) -> list[tuple[str, str, str]]:
    """PostgreSQL: drop every foreign key of the schema and return (table, name, definition) to add back."""
    constraints = [tuple(row) for row in conn.execute(sa.text(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f' AND n.nspname = current_schema()"))]
    for table_name, name, _definition in constraints:
        conn.exec_driver_sql(f'ALTER TABLE {table_name} DROP CONSTRAINT "{name}"')
    return constraints  # type: ignore[return-value]


def _insert_table(conn: Connection, table: sa.Table, listed: dict[str, Any], reader: ArchiveReader,
                  say: Callable[[str], None]) -> int:
    names = [c["name"] for c in listed["columns"]]
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise BackupError(f"table {table.name} has no column {missing[0]} at revision {reader.manifest['revision']}")
    postgres = conn.dialect.name == "postgresql"
    columns = []
    for column in listed["columns"]:
        kind = table.columns[column["name"]].type
        if column["type"] == "json":
            kind = RawJSON(kind) if postgres else sa.Text()
        columns.append(sa.column(column["name"], kind))
    statement = sa.table(table.name, *columns).insert()
    count = 0
    batch: list[dict[str, Any]] = []
    for values in reader.rows(listed):
        batch.append(dict(zip(names, values, strict=True)))
        if len(batch) >= BATCH:
            conn.execute(statement, batch)
            count += len(batch)
            batch = []
            if count % PROGRESS_EVERY < BATCH:
                say(f"  {table.name}: {count:,} rows…")
    if batch:
        conn.execute(statement, batch)
        count += len(batch)
    if count != listed["rows"]:
        raise BackupError(f"{table.name}: the archive holds {count} rows, its manifest says {listed['rows']}")
    say(f"  {table.name}: {count:,} rows")
    return count


def _next_after(conn: Connection, table: sa.Table, column: str, marks: dict[str, Any]) -> int:
    """The highest id given so far: the source's high-water mark or the largest id restored."""
    largest = conn.execute(sa.select(sa.func.max(table.c[column]))).scalar() or 0
    return max(int(largest), int(marks.get(table.name, {}).get("value", 0)))


def _set_postgres_sequences(conn: Connection, target: sa.MetaData, marks: dict[str, Any]) -> None:
    for table in target.sorted_tables:
        for column in table.primary_key.columns:
            seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                               {"t": table.name, "c": column.name}).scalar()
            if seq:
                value = _next_after(conn, table, column.name, marks)
                conn.execute(sa.text("SELECT setval(:s, :v, :called)"),
                             {"s": seq, "v": max(value, 1), "called": value > 0})


def _set_sqlite_sequences(conn: Connection, target: sa.MetaData, marks: dict[str, Any]) -> None:
    """AUTOINCREMENT tables continue above the source's high-water mark, not just above the largest id left."""
    names = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table' "
                                 "AND sql LIKE '%AUTOINCREMENT%'")).scalars().all()
    for name in names:
        table = target.tables.get(name)
        if table is None or "id" not in table.columns:
            continue
        value = _next_after(conn, table, "id", marks)
        conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :n"), {"n": name})
        if value:
            conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:n, :v)"), {"n": name, "v": value})


def _restore_uploads(reader: ArchiveReader, say: Callable[[str], None]) -> int:
    """Write the archive's upload files under UPLOAD_FOLDER (never outside it)."""
    folder = Path(current_app.config["UPLOAD_FOLDER"]).resolve()
    uploads = reader.manifest["uploads"]
    for upload in uploads:
        dest = (folder / upload["path"]).resolve()
        if not dest.is_relative_to(folder):
            raise BackupError(f"upload {upload['path']!r} would be written outside the upload folder; refused")
        dest.parent.mkdir(parents=True, exist_ok=True)
        with reader.open_upload(upload) as source, dest.open("wb") as out:
            shutil.copyfileobj(source, out)
    say(f"  uploads: {len(uploads):,} files")
    return len(uploads)
