"""Reset of a 60-student class with Sales basics, against a raw sqlite3 executemany of the same rows.

The measured reset is the whole operation an instructor waits for: lock, snapshot of the old data,
delete, generate every student's book, bulk insert, log entry, commit. The baseline inserts exactly
the rows that reset inserted (same tables, same columns, ids already assigned) into an empty copy of
the same schema with plain `sqlite3` executemany and one commit, right after each reset. Both figures
are rows per second; ratio = reset rate ÷ raw rate (target ≥ 0.5), from the round with the median ratio.
The load before the rounds fills the cache of generated books (runs/book_cache.py), so the measured resets
insert cached books; a few cold rounds with the cache off give the figure of generating them.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from sandbox import access, create_app
from sandbox.classroom.runs import loader
from sandbox.classroom.runs.loader import insert_rows
from sandbox.classroom.runs.services import load_scenario, reset_scenario
from sandbox.extensions import db
from sandbox.oplog import set_actor
from sandbox.org.models import Position, Role, User

from .data import PASSWORD, _Tree, create_schema, insert_tree

TARGET = 0.5
COLD_ROUNDS = {True: 1, False: 3}
SCENARIO = "sales-basics"


def _app(folder: Path, name: str) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / name}", "SECRET_KEY": "bench-secret",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "uploads")})


def _classroom(app: Flask, students: int) -> None:
    tree = _Tree()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, "organization", "Bench School", None)
    teacher_node = tree.position(root, "teacher", "Teacher", None)
    klass = tree.position(teacher_node, "class", "Bench class", None, join_code="BENCH1", registration_open=True)
    tree.positions[-1]["class_id"] = klass
    seats = []
    for d in range(3):
        dept = tree.position(klass, "department", f"Dept {d + 1}", klass)
        seats.append(tree.position(dept, "position", "Sales", klass))
    tree.user("teacher", "Teacher", Role.INSTRUCTOR, teacher_node, None, pw)
    for i in range(students):
        tree.user(f"s{i + 1:03d}", f"Student {i + 1}", Role.STUDENT, seats[i % 3], klass, pw)
    with app.app_context():
        with db.engine.begin() as conn:
            insert_tree(conn, tree)
        db.engine.dispose()  # closing the last connection checkpoints the WAL, so the file can be copied


def _as_teacher() -> Position:
    access.use_viewer(access.SYSTEM)
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    set_actor(teacher)
    return db.session.scalar(select(Position).where(Position.kind == "class"))


class _Recorder:
    """Captures the rows reset hands to the driver, table by table, for the baseline to replay."""

    def __init__(self) -> None:
        self.tables: list[tuple[str, list[str], list[tuple[Any, ...]]]] = []
        self.seconds = 0.0

    def __call__(self, conn: Any, rows: dict[str, list[dict[str, Any]]], **kw: Any) -> int:
        real = loader.executemany

        def spy(conn: Any, table: Any, columns: list[str], values: list[list[Any]]) -> None:
            real(conn, table, columns, values)
            self.tables.append((table.name, list(columns), [tuple(v) for v in values]))

        loader.executemany = spy  # type: ignore[assignment]
        start = time.perf_counter()
        try:
            return insert_rows(conn, rows, **kw)
        finally:
            # Summed over the parts of one reset; includes the recording copy: a little unfavourable.
            self.seconds += time.perf_counter() - start
            loader.executemany = real  # type: ignore[assignment]


def _raw_insert(path: Path, tables: list[tuple[str, list[str], list[tuple[Any, ...]]]]) -> float:
    """Seconds for plain sqlite3 to insert the recorded rows (same pragmas as the app) and commit."""
    conn = sqlite3.connect(path)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    prepared = []
    for name, columns, rows in tables:
        sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        prepared.append((sql, rows))
    start = time.perf_counter()
    for sql, values in prepared:
        try:
            conn.executemany(sql, values)
        except sqlite3.IntegrityError as exc:
            raise RuntimeError(f"{sql[:60]}: {exc}") from None
    conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def run(measure_cls: Any, quick: bool, say: Callable[[str], None]) -> tuple[list[Any], str]:
    """Measure whole-class resets; returns the measures and a readable table."""
    import sandbox.classroom.runs.services as services

    students, rounds = (10, 3) if quick else (60, 7)
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-reset-") as tmp:
        folder = Path(tmp)
        app = _app(folder, "reset.db")
        say(f"reset: a class of {students} students …")
        create_schema(app)
        _classroom(app, students)
        shutil.copy(folder / "reset.db", folder / "empty.db")
        with app.app_context():
            klass = _as_teacher()
            load_scenario(klass, SCENARIO)
            db.session.commit()
        # Each reset is paired with a raw replay of its own rows right after it, so both meet the same
        # machine; the round with the median ratio is reported (a noisy neighbour hits one round, not the figure).
        def one_round(label: str) -> tuple[float, float, float, int, int]:
            recorder = _Recorder()
            with app.test_request_context():
                klass = _as_teacher()
                services.insert_rows = recorder  # type: ignore[assignment]
                try:
                    start = time.perf_counter()
                    result = reset_scenario(klass)
                    db.session.commit()
                    seconds = time.perf_counter() - start
                finally:
                    services.insert_rows = original
            target = folder / "raw.db"
            shutil.copy(folder / "empty.db", target)
            raw = _raw_insert(target, recorder.tables)
            target.unlink()
            say(f"reset: {label}: {seconds:.3f} s, raw sqlite3 {raw:.3f} s")
            return seconds, recorder.seconds, raw, result.rows, result.replaced

        rounds_seen: list[tuple[float, float, float]] = []  # (whole reset s, its insert s, raw s)
        rows = replaced = 0
        original = services.insert_rows
        # The load above put every student's book in the cache: these resets insert cached books.
        for i in range(rounds):
            seconds, inserting, raw, rows, replaced = one_round(f"round {i + 1} of {rounds} (cached books)")
            rounds_seen.append((seconds, inserting, raw))
        # The cold path (books generated, as before the cache): a few rounds with the cache off.
        app.config["SCENARIO_BOOK_CACHE"] = False
        cold_seen = []
        for i in range(COLD_ROUNDS[quick]):
            seconds, _inserting, raw, _rows, _replaced = one_round(f"cold round {i + 1} (books generated)")
            cold_seen.append((seconds, raw))
        app.config["SCENARIO_BOOK_CACHE"] = True
        with app.app_context():
            db.engine.dispose()
    whole_s, insert_s, raw_s = sorted(rounds_seen, key=lambda r: r[2] / r[0])[len(rounds_seen) // 2]
    baseline = rows / raw_s
    measures, lines = [], []
    for name, seconds, what in ((f"reset.class_{students}", whole_s, "whole reset"),
                                (f"reset.insert_{students}", insert_s, "its bulk insert")):
        value = rows / seconds
        measure = measure_cls(name, round(value, 1), "rows/s", round(baseline, 1), round(value / baseline, 3))
        measures.append(measure)
        verdict = "ok" if measure.ratio >= TARGET else "BELOW"
        lines.append(f"{name:<20}{what:<17}{seconds:>9.3f}{raw_s:>9.3f}{value:>12,.0f}{baseline:>12,.0f}"
                     f"{measure.ratio:>8.2f}  {verdict}")
    cold_s, cold_raw = sorted(cold_seen, key=lambda r: r[1] / r[0])[len(cold_seen) // 2]
    cold_ratio = (rows / cold_s) / (rows / cold_raw)
    lines.append(f"{'(cold: generated)':<20}{'whole reset':<17}{cold_s:>9.3f}{cold_raw:>9.3f}{rows / cold_s:>12,.0f}"
                 f"{rows / cold_raw:>12,.0f}{cold_ratio:>8.2f}  (not a measure: the median of {len(cold_seen)})")
    spread = sorted(round(r[2] / r[0], 2) for r in rounds_seen)
    table = "\n".join([
        f"reset of a class, {SCENARIO}, {students} students: {rows:,} rows inserted, {replaced:,} replaced"
        f" · the median of {rounds} rounds (whole-reset ratios {', '.join(map(str, spread))})",
        "whole reset = lock, snapshot for undo, delete, the books from the cache of generated books (generated in a"
        " forked child on a miss), bulk insert, log entry, commit; cold = the same with the cache off",
        "ratio = rows/s ÷ raw sqlite3 executemany rows/s of the same rows into the same empty schema, replayed right after",
        "",
        f"{'measure':<20}{'':<17}{'s':>9}{'raw s':>9}{'rows/s':>12}{'raw rows/s':>12}{'ratio':>8}  target ≥ {TARGET}",
        *lines,
    ])
    return measures, table
