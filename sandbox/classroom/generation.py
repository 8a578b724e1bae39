"""A class's books, generated part by part beside the reset that inserts them.

Generating is pure-Python CPU work (about as long as the database needs to snapshot, delete and insert
the class). In a thread it would fight the reset for the GIL, so a class of several parts is built in a
forked child process that sends each part down a pipe as soon as it is ready; the reset snapshots and
deletes meanwhile, then inserts part 1 while part 2 is built. (Preparing the values for the driver in
the child as well was measured slower: strings pickle bigger than datetimes.) The child runs only
seed/ (pure: no database, no Flask context, no locks) and leaves with os._exit, so it never touches
the parent's connections.
Where fork is unavailable, or there is only one part, the parts are built in this process on demand.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from seed import Scenario, generate_parts, part_count

Rows = dict[str, list[dict[str, Any]]]

# Students per part: small enough that inserting starts early, large enough to keep statements few.
STUDENTS_PER_PART = 10
JOIN_SECONDS = 5
POLL_SECONDS = 1


class GenerationError(RuntimeError):
    """The scenario's rows could not be generated (the message names the cause)."""


def _parts(scenario: Scenario, roster: list[dict[str, Any]], now: datetime, class_id: int, owner_id: int,
           per_part: int) -> Iterator[Rows]:
    return generate_parts(scenario, roster, now, class_id=class_id, class_owner_id=owner_id,
                          students_per_part=per_part)


def _produce(parts: Any, *args: Any) -> None:
    """The child: put ("part", rows) per part, or ("error", text) once, then leave without cleanup.
    The queue's feeder thread writes to the pipe, so building the next part never waits for the parent."""
    # Let go of the parent's terminal and log pipes: whoever waits for them to close (a supervisor, a
    # test reading a killed command's output) must not wait for this child too.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    try:
        for rows in _parts(*args):
            parts.put(("part", rows))
    except BaseException as exc:  # noqa: BLE001 - the parent must hear about any failure
        parts.put(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"))
    finally:
        parts.close()
        parts.join_thread()  # every part is in the pipe (the parent may still be reading it)
        os._exit(0)  # no atexit handlers, no finalisers of objects inherited from the parent


class Books:
    """The parts of one load, in order; iterate once, then close() (also on failure)."""

    def __init__(self, scenario: Scenario, roster: list[dict[str, Any]], now: datetime, class_id: int,
                 owner_id: int, per_part: int | None = None) -> None:
        per_part = per_part or STUDENTS_PER_PART
        self.count = part_count(len(roster), per_part)
        self._args = (scenario, roster, now, class_id, owner_id, per_part)
        self._process: Any = None
        self._parts: Any = None
        if self.count > 1 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._parts = context.Queue()
            self._process = context.Process(target=_produce, args=(self._parts, *self._args), daemon=True,
                                            name="scenario-generate")
            self._process.start()

    def __iter__(self) -> Iterator[Rows]:
        if self._parts is None:
            try:
                yield from _parts(*self._args)
            except Exception as exc:
                raise GenerationError(f"{type(exc).__name__}: {exc}") from exc
            return
        for _ in range(self.count):
            kind, payload = self._next()
            if kind == "error":
                raise GenerationError(payload.splitlines()[0])
            yield payload

    def _next(self) -> tuple[str, Any]:
        while True:
            try:
                return self._parts.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not self._process.is_alive() and self._parts.empty():
                    raise GenerationError("the generating process ended before sending every part") from None

    def close(self) -> None:
        """Stop the child if it is still working (a reset that failed midway) and reap it."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(JOIN_SECONDS)
            self._parts.close()
            self._parts.cancel_join_thread()
