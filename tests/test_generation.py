"""Books: a class's generated rows, built part by part in a forked child beside the reset (issue 4)."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime

import pytest

from sandbox.classroom import generation
from sandbox.classroom.generation import Books, GenerationError
from seed import SCENARIO_DIR, TABLE_ORDER, generate, load_scenario

ROSTER = [{"user_id": 10 + i, "username": f"stu{i:02d}", "class_id": 5} for i in range(5)]
START = datetime(2026, 3, 2, 1, 30)


def basics():
    return load_scenario(SCENARIO_DIR / "sales-basics.yaml")


def joined(parts: list[dict]) -> dict:
    return {table: [row for part in parts for row in part[table]] for table in TABLE_ORDER}


def test_parts_from_the_child_are_the_rows_generate_gives():
    books = Books(basics(), ROSTER, START, 5, 1, per_part=2)
    try:
        assert books.count == 3 and books._process is not None  # really forked
        parts = list(books)
    finally:
        books.close()
    assert joined(parts) == generate(basics(), ROSTER, START, class_id=5, class_owner_id=1)
    assert not books._process.is_alive() and books._process.exitcode == 0


def test_one_part_is_built_here_without_a_child():
    books = Books(basics(), ROSTER[:1], START, 5, 1, per_part=10)
    assert books.count == 1 and books._process is None
    assert joined(list(books)) == generate(basics(), ROSTER[:1], START, class_id=5, class_owner_id=1)
    books.close()


def test_a_failure_in_the_child_is_reported_with_its_cause(monkeypatch):
    def broken(*args, **kwargs):
        yield from ()
        raise ValueError("no such product category")

    monkeypatch.setattr(generation, "generate_parts", broken)
    books = Books(basics(), ROSTER, START, 5, 1, per_part=2)
    try:
        with pytest.raises(GenerationError, match="ValueError: no such product category"):
            list(books)
    finally:
        books.close()


def test_a_child_that_dies_is_noticed_not_waited_for(monkeypatch):
    monkeypatch.setattr(generation, "POLL_SECONDS", 0.05)

    def stuck(*args, **kwargs):
        time.sleep(30)
        yield from ()

    monkeypatch.setattr(generation, "generate_parts", stuck)
    books = Books(basics(), ROSTER, START, 5, 1, per_part=2)
    os.kill(books._process.pid, signal.SIGKILL)
    started = time.monotonic()
    try:
        with pytest.raises(GenerationError, match="ended before sending every part"):
            list(books)
    finally:
        books.close()
    assert time.monotonic() - started < 10


def test_close_stops_a_child_still_working(monkeypatch):
    def slow(*args, **kwargs):
        time.sleep(30)
        yield from ()

    monkeypatch.setattr(generation, "generate_parts", slow)
    books = Books(basics(), ROSTER, START, 5, 1, per_part=2)
    books.close()  # the reset failed before reading any part
    assert not books._process.is_alive()
