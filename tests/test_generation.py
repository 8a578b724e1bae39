"""Books: a class's generated rows, built part by part in a forked child beside the reset (issue 4)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from datetime import datetime

import pytest

from sandbox.classroom.runs import generation
from sandbox.classroom.runs.generation import Books, GenerationError
from sandbox.classroom.runs.loader import Batch, prepare
from sandbox.extensions import db
from seed import SCENARIO_DIR, generate, generate_parts, load_scenario

ROSTER = [{"user_id": 10 + i, "username": f"stu{i:02d}", "class_id": 5} for i in range(5)]
START = datetime(2026, 3, 2, 1, 30)
FORK = multiprocessing.get_context("fork")
WAIT = 30  # seconds an event may take before the test fails (never reached when all is well)


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
    # Done or stopped once this process had built the rest itself; reaped either way.
    assert all(not p.is_alive() and p.exitcode in (0, -signal.SIGKILL) for p in books.processes)


def in_the_child(monkeypatch, child_version):
    """generate_parts as `child_version` in forked children, the real one in this process."""
    parent, real = os.getpid(), generation.generate_parts

    def switch(*args, **kwargs):
        return real(*args, **kwargs) if os.getpid() == parent else child_version(real, *args, **kwargs)

    monkeypatch.setattr(generation, "generate_parts", switch)


def test_while_a_child_is_slow_this_process_builds_parts_from_the_end(monkeypatch, dialect):
    built_here = []
    parent = os.getpid()
    built_one_here = FORK.Event()  # the child holds its parts back until this process has built one

    def slow_child(real, *args, **kwargs):
        for part in real(*args, **kwargs):
            built_one_here.wait(WAIT)
            yield part

    in_the_child(monkeypatch, slow_child)
    counting = generation.generate_parts

    def count_here(*args, **kwargs):
        for index, part in zip(kwargs["only"], counting(*args, **kwargs), strict=False):
            if os.getpid() == parent:
                built_here.append(index)
                built_one_here.set()
            yield part

    monkeypatch.setattr(generation, "generate_parts", count_here)
    books = Books(basics(), ROSTER, START, 5, 1, dialect, per_part=1)
    try:
        parts = list(books)
    finally:
        books.close()
    assert parts == expected(ROSTER, 1, dialect)  # the same rows, whoever built them, in order
    # The child waited: meanwhile this process built the last ones, from the end.
    assert built_here and built_here == [4, 3, 2, 1][:len(built_here)] and 0 not in built_here
    assert not any(p.is_alive() for p in books.processes)


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
    started, never = FORK.Event(), FORK.Event()

    def stuck(real, *args, **kwargs):
        started.set()
        never.wait(WAIT)
        yield from ()

    in_the_child(monkeypatch, stuck)
    books = Books(basics(), ROSTER, START, 5, 1, dialect, per_part=2)
    assert started.wait(WAIT)
    os.kill(books.processes[0].pid, signal.SIGKILL)
    started = time.monotonic()
    try:
        # This process builds parts 2 and 1 itself, but part 0 (the catalogue) is the child's.
        with pytest.raises(GenerationError, match="ended before sending every part"):
            list(books)
    finally:
        books.close()
    assert time.monotonic() - started < 10


def test_a_child_that_is_stuck_is_stopped_and_its_parts_built_here(monkeypatch, dialect, caplog):
    """A forked child can inherit a lock another thread held and wait forever: the load must not."""
    monkeypatch.setattr(generation, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(generation, "STALL_SECONDS", 0.5)
    started, never = FORK.Event(), FORK.Event()

    def stuck(real, *args, **kwargs):
        started.set()
        never.wait(WAIT)  # alive, sending nothing
        yield from ()

    in_the_child(monkeypatch, stuck)
    books = Books(basics(), ROSTER, START, 5, 1, dialect, per_part=1)
    assert started.wait(WAIT)
    began = time.monotonic()
    try:
        parts = list(books)
    finally:
        books.close()
    assert parts == expected(ROSTER, 1, dialect)  # every part, part 0 included, in order
    assert time.monotonic() - began < WAIT / 2
    assert books.processes and not any(p.is_alive() for p in books.processes)
    assert "sent nothing" in caplog.text


def test_close_stops_a_child_still_working(monkeypatch, dialect):
    started, never = FORK.Event(), FORK.Event()

    def slow(*args, **kwargs):
        started.set()
        never.wait(WAIT)
        yield from ()

    monkeypatch.setattr(generation, "generate_parts", slow)
    books = Books(basics(), ROSTER, START, 5, 1, dialect, per_part=2)
    assert started.wait(WAIT)  # the child is working
    started_closing = time.monotonic()
    books.close()  # the reset failed before reading any part
    assert books.processes and not any(p.is_alive() for p in books.processes)
    assert time.monotonic() - started_closing < WAIT  # stopped, not waited for
