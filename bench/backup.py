"""`sandbox bench`, backup part: `sandbox backup` and `sandbox restore` of the demo database and of a 60-student
class with 1,000,000 log entries (quick: no demo, 10,000 entries), each in its own temporary SQLite file.

Measured: `backup_database` (online backup API copy, every row encoded into the zip, upload files) and
`restore_database` into a new empty SQLite file (migrations, every row inserted, references checked, sequences
set). Baselines in the same run, on the same data: for the backup, a plain `sqlite3` SELECT of every row of every
table (the read floor, nothing written); for the restore, a plain `sqlite3` executemany of every table's rows
read from the source into an empty copy of the migrated schema, one commit, with the restore's bulk-load settings
(page cache, a big table's indexes built after its rows): the insert floor, no schema work, no decoding.
Figures: seconds, rows per second, and ratio = baseline seconds ÷ measured seconds.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert
from werkzeug.security import generate_password_hash

from sandbox import access, create_app
from sandbox.backup import backup_database, restore_database
from sandbox.backup.restore import BIG_TABLE, SQLITE_CACHE_KB
from sandbox.classroom.models import Run
from sandbox.clock import utcnow
from sandbox.competitors.models import Competitor
from sandbox.extensions import db
from sandbox.oplog import set_actor
from sandbox.opportunities.models import Opportunity
from sandbox.org.models import PositionKind, Role
from sandbox.products.models import Product

from . import gradebook as log_data
from .data import PASSWORD, _Tree, bulk_connection, create_schema, insert_tree

FULL_ENTRIES = 1_000_000
QUICK_ENTRIES = 10_000
STUDENTS = 60
DEPARTMENTS = 3
SKIPPED = ("alembic_version", "cached_books", "rate_limit_counters")

Say = Callable[[str], None]


def _app(folder: Path, name: str) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / name}", "SECRET_KEY": "bench-backup",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                       "UPLOAD_FOLDER": str(folder / f"{Path(name).stem}-uploads")})


def _demo(folder: Path) -> Flask:
    """The demo classroom of `sandbox demo` on a new database."""
    from sandbox.demo import build_demo
    from sandbox.org.services import create_organization

    app = _app(folder, "demo.db")
    create_schema(app)
    with app.app_context():
        access.use_viewer(access.SYSTEM)
        set_actor(None)
        create_organization("示范学校 Demo School")
        build_demo("Bench-demo-2026")
        db.session.commit()
        db.engine.dispose()
    return app


def _class_with_log(folder: Path, entries: int, say: Say) -> Flask:
    """One class of 60 students (3 departments) with a scenario run, their opportunities and the leads,
    activities, lines and competitors `entries` log entries are about, all bulk-inserted (the gradebook
    bench's generator, not operations)."""
    app = _app(folder, "class60.db")
    create_schema(app)
    rng = random.Random(20261203)
    tree = _Tree()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, PositionKind.ORGANIZATION, "Bench School", None)
    teacher_node = tree.position(root, PositionKind.TEACHER, "Teacher Li", None)
    teacher = tree.user("teacher", "Teacher Li", Role.INSTRUCTOR, teacher_node, None, pw)
    klass = tree.position(teacher_node, PositionKind.CLASS, "Class 60", None, join_code="BACKUP60")
    tree.positions[-1]["class_id"] = klass
    students = []
    for d in range(DEPARTMENTS):
        dept = tree.position(klass, PositionKind.DEPARTMENT, f"Department {d + 1}", klass)
        seat = tree.position(dept, PositionKind.POSITION, "Salesperson", klass)
        students += [tree.user(f"s{d + 1}_{s + 1}", f"Student {d + 1}-{s + 1}", Role.STUDENT, seat, klass, pw)
                     for s in range(STUDENTS // DEPARTMENTS)]
    now = utcnow()
    began = now - timedelta(days=15)
    world = log_data._World(rng, students, first_opp=1)
    opps = log_data._records(world, klass, began)
    run = {"id": 1, "class_id": klass, "student_id": None, "parent_id": None, "scenario_name": "sales-basics",
           "scenario_text": log_data.scenario_text(), "seed": 1, "started_at": began, "deadline": now,
           "started_by_id": teacher, "rows": 0, "duration_ms": 0}
    owned = {"owner_id": teacher, "class_id": klass, "created_by_id": teacher, "created_at": began,
             "updated_at": began, "deleted_at": None, "version": 1}
    sql = (f"INSERT INTO log_entries ({', '.join(log_data.COLUMNS)}) "
           f"VALUES ({', '.join('?' * len(log_data.COLUMNS))})")
    with app.app_context():
        with bulk_connection() as conn:
            with conn.begin():
                insert_tree(conn, tree)
                conn.execute(insert(Run.__table__), [run])
                conn.execute(insert(Product.__table__), [{**owned, "id": p, "code": f"P{p}", "name": f"产品 {p}",
                                                          "list_price": Decimal(10_000 * p)} for p in range(1, 6)])
                conn.execute(insert(Competitor.__table__), [{**owned, "id": c, "name": f"竞争对手 {c}"}
                                                            for c in range(1, 6)])
                conn.execute(insert(Opportunity.__table__), opps)
                done = 0
                for batch in log_data._entries(world, entries, began, {}, 1, klass):
                    conn.exec_driver_sql(sql, batch)
                    done += len(batch)
                    if done % 200_000 == 0:
                        say(f"backup: {done:,} / {entries:,} log entries")
                log_data._insert_records(conn, world, klass, began)
            conn.commit()
        db.engine.dispose()
    return app


def _tables(conn: sqlite3.Connection) -> list[str]:
    names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [name for (name,) in names if name not in SKIPPED]


def _select_all(source: Path) -> tuple[float, int]:
    """Backup baseline: read every row of every table with plain sqlite3."""
    start = time.perf_counter()
    rows = 0
    with sqlite3.connect(source) as conn:
        for table in _tables(conn):
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            while batch := cursor.fetchmany(5000):
                rows += len(batch)
    return time.perf_counter() - start, rows


def _insert_all(source: Path, empty_schema: Path, target: Path) -> tuple[float, int]:
    """Restore baseline: every table's rows executemany'd into an empty copy of the schema, one commit."""
    start = time.perf_counter()
    shutil.copy(empty_schema, target)
    rows = 0
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target, isolation_level=None)
    try:
        # The same bulk-load settings as the restore: a big page cache, a big table's indexes built after it.
        dst.execute("PRAGMA foreign_keys=OFF")
        dst.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
        dst.execute("BEGIN")
        for table in _tables(src):
            dst.execute(f'DELETE FROM "{table}"')  # the picklists the migrations seed
            big = src.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] >= BIG_TABLE
            indexes = dst.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                  "AND sql IS NOT NULL", (table,)).fetchall() if big else []
            for name, _sql in indexes:
                dst.execute(f'DROP INDEX "{name}"')
            columns = [r[1] for r in src.execute(f'PRAGMA table_info("{table}")')]
            cursor = src.execute(f'SELECT * FROM "{table}"')
            sql = f'INSERT INTO "{table}" VALUES ({", ".join("?" * len(columns))})'
            while batch := cursor.fetchmany(5000):
                dst.executemany(sql, batch)
                rows += len(batch)
            for _name, index_sql in indexes:
                dst.execute(index_sql)
        dst.execute("COMMIT")
    finally:
        src.close()
        dst.close()
    return time.perf_counter() - start, rows


def _measure(app: Flask, folder: Path, label: str, empty_schema: Path, say: Say) -> dict[str, Any]:
    """Back up and restore one database; its figures and baselines."""
    archive = folder / f"{label}.zip"
    source = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    cpu = [time.process_time()]
    with app.app_context():
        say(f"backup: {label}: backup …")
        backed = backup_database(archive)
        db.engine.dispose()
    cpu.append(time.process_time())
    read_s, read_rows = _select_all(source)
    cpu.append(time.process_time())
    restored_app = _app(folder, f"{label}-restored.db")
    with restored_app.app_context():
        say(f"backup: {label}: restore …")
        restored = restore_database(archive)
        db.engine.dispose()
    cpu.append(time.process_time())
    insert_s, insert_rows = _insert_all(source, empty_schema, folder / f"{label}-raw.db")
    cpu.append(time.process_time())
    if not (backed.rows - 1 == restored.rows == read_rows == insert_rows):  # alembic_version: by the migrations
        raise RuntimeError(f"{label}: backed up {backed.rows}, restored {restored.rows}, baselines {read_rows}/"
                           f"{insert_rows} rows: the measure would mean nothing")
    return {"label": label, "rows": restored.rows, "bytes": archive.stat().st_size, "backup": backed.seconds,
            "read": read_s, "restore": restored.seconds, "schema": restored.schema_seconds,
            "load": restored.load_seconds, "insert": insert_s,
            # CPU seconds of this process (SQLite runs in it): what the work costs on a machine shared with others.
            "cpu": {kind: round(cpu[i + 1] - cpu[i], 2) for i, kind in enumerate(("backup", "read", "restore", "insert"))}}


def run(measure_cls: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """Measure backup and restore; returns the measures and a readable table."""
    entries = QUICK_ENTRIES if quick else FULL_ENTRIES
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-backup-") as tmp:
        folder = Path(tmp)
        empty = _app(folder, "empty.db")
        create_schema(empty)
        figures = []
        if not quick:
            say("backup: building the demo database …")
            figures.append(_measure(_demo(folder), folder, "demo", folder / "empty.db", say))
        say(f"backup: building a {STUDENTS}-student class with {entries:,} log entries …")
        label = f"class{STUDENTS}_{entries // 1000}k"
        figures.append(_measure(_class_with_log(folder, entries, say), folder, label, folder / "empty.db", say))
    measures = []
    lines = ["backup and restore · SQLite · baselines: plain sqlite3 SELECT of every row (backup), "
             "executemany into an empty schema copy (restore)", "",
             f"{'measure':<28}{'rows':>11}{'seconds':>9}{'rows/s':>11}{'baseline s':>12}{'ratio':>8}"]
    for f in figures:
        for kind, value, baseline in (("backup", f["backup"], f["read"]), ("restore", f["restore"], f["insert"])):
            name = f"{kind}.{f['label']}"
            measures.append(measure_cls(name, round(value, 3), "s", round(baseline, 3), round(baseline / value, 3)))
            lines.append(f"{name:<28}{f['rows']:>11,}{value:>9.2f}{f['rows'] / value:>11,.0f}{baseline:>12.2f}"
                         f"{baseline / value:>8.3f}")
        lines.append(f"{'':<4}{f['label']}: archive {f['bytes'] / 1e6:.1f} MB; restore = schema by migrations "
                     f"{f['schema']:.2f} s + rows {f['load']:.2f} s ({f['rows'] / f['load']:,.0f} rows/s)")
        cpu = f["cpu"]
        lines.append(f"{'':<4}CPU s of this process: backup {cpu['backup']}, its baseline {cpu['read']}; "
                     f"restore {cpu['restore']}, its baseline {cpu['insert']}")
    return measures, "\n".join(lines)
