"""Books: a class's generated rows, built part by part in a forked child beside the reset (issue 4)."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime

import pytest

from sandbox.classroom import generation
from sandbox.classroom.generation import Books, GenerationError
from sandbox.classroom.loader import Batch, prepare
from sandbox.extensions import db
from seed import SCENARIO_DIR, generate, generate_parts, load_scenario

ROSTER = [{"user_id": 10 + i, "username": f"stu{i:02d}", "class_id": 5} for i in range(5)]
START = datetime(2026, 3, 2, 1, 30)


def basics():
    return load_scenario(SCENARIO_DIR / "sales-basics.yaml")


@pytest.fixture
def dialect(app):
    with app.app_context():
        yield db.engine.dialect


def expected(roster: list, per_part: int, dialect) -> list:
    return [prepare(part, dialect) for part in generate_parts(basics(), roster, START, class_id=5, class_owner_id=1,
                                                             students_per_part=per_part)]


@pytest.mark.parametrize("workers", [1, 2])
def test_parts_from_the_children_are_the_prepared_rows_of_generate(dialect, workers):
    books = Books(basics(), ROSTER, START, 5, 1, dialect, per_part=2, workers=workers)
    try:
        assert books.count == 3 and len(books.processes) == workers  # really forked (two: parts 0, 2 and 1)
        parts = list(books)
    finally:
        books.close()
    assert parts == expected(ROSTER, 2, dialect)
    assert sum(len(b.values) for part in parts for b in part.values() if isinstance(b, Batch)) == \
        sum(len(rows) for name, rows in generate(basics(), ROSTER, START).items() if name != "code_values")
    assert all(not p.is_alive() and p.exitcode == 0 for p in books.processes)


def test_one_part_is_built_here_without_a_child(dialect):
    books = Books(basics(), ROSTER[:1], START, 5, 1, dialect, per_part=10)
    assert books.count == 1 and not books.processes
    assert list(books) == expected(ROSTER[:1], 10, dialect)
    books.close()


def test_a_failure_in_the_child_is_reported_with_its_cause(monkeypatch, dialect):
    def broken(*args, **kwargs):
        yield from ()
        raise ValueError("no such product category")

    monkeypatch.setattr(generation, "generate_parts", broken)
    books = Books(basics(), ROSTER, START, 5, 1, dialect, per_part=2)
    try:
        with pytest.raises(GenerationError, match="ValueError: no such product category"):
            list(books)
    finally:
        books.close()


def test_a_child_that_dies_is_noticed_not_waited_for(monkeypatch, dialect):
    monkeypatch.setattr(generation, "POLL_SECONDS", 0.05)

    def stuck(*args, **kwargs):
        time.sleep(30)
        yield from ()

    monkeypatch.setattr(generation, "generate_parts", stuck)
    books = Books(basics(), ROSTER, START, 5, 1, dialect, per_part=2)
    os.kill(books.processes[0].pid, signal.SIGKILL)
    started = time.monotonic()
    try:
        with pytest.raises(GenerationError, match="ended before sending every part"):
            list(books)
    finally:
        books.close()
    assert time.monotonic() - started < 10


def test_close_stops_a_child_still_working(monkeypatch, dialect):
    def slow(*args, **kwargs):
        time.sleep(30)
        yield from ()

    monkeypatch.setattr(generation, "generate_parts", slow)
    books = Books(basics(), ROSTER, START, 5, 1, dialect, per_part=2)
    books.close()  # the reset failed before reading any part
    assert books.processes and not any(p.is_alive() for p in books.processes)
