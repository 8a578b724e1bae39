"""A class's books, generated part by part beside the reset that inserts them.

Generating is pure-Python CPU work, longer than the database needs to snapshot, delete and insert the
class. In a thread it would fight the reset for the GIL, so a class of several parts is built by forked
child processes (one by default; with two, one builds the even parts and the other the odd ones), each
sending a part down its queue as soon as it is ready. The reset snapshots and deletes meanwhile, then
inserts the parts in order; whenever the next one is not ready yet, the reset builds a part from the end
itself rather than wait, so the children and the reset meet in the middle.

The children also turn each part into driver-ready values (loader.prepare): lists of strings pickle
four times faster than dicts of datetimes and Decimals, so that costs them little and takes the work
off the reset's critical path. A child runs only that pure code (no database, no Flask context, no
locks) and leaves with os._exit, so it never touches the parent's connections. Where fork is
unavailable, or there is only one part, the parts are built in this process on demand.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from seed import Scenario, generate_parts, part_count

from .loader import Prepared, prepare

# Students per part: small enough that inserting starts early, large enough to keep statements few.
STUDENTS_PER_PART = 10
# Worker processes per load (SCENARIO_GENERATORS). On two cores one is best: a second one makes the
# generation faster but takes its CPU from the reset's own inserts (measured: ratio 0.27 against 0.32).
WORKERS = 1
JOIN_SECONDS = 5
POLL_SECONDS = 1
# A child that sends nothing for this long is stuck (a fork can inherit a lock another thread held): this
# process stops it and builds the rest itself. A part takes well under a second to build.
STALL_SECONDS = 30


log = logging.getLogger(__name__)


# What a part becomes before it is handed over (book_cache.py: the encoded payload the cache stores).
Transform = Callable[[Prepared], Any]


class GenerationError(RuntimeError):
    """The scenario's rows could not be generated (the message names the cause)."""


def _parts(scenario: Scenario, roster: list[dict[str, Any]], now: datetime, class_id: int, owner_id: int,
           per_part: int, dialect: Any, transform: Transform | None = None, only: range | None = None) -> Iterator[Any]:
    for rows in generate_parts(scenario, roster, now, class_id=class_id, class_owner_id=owner_id,
                               students_per_part=per_part, only=only):
        prepared = prepare(rows, dialect)
        yield transform(prepared) if transform is not None else prepared


def _produce(parts: Any, only: range, *args: Any) -> None:
    """A child: put ("part", index, prepared rows) per part of `only`, or ("error", -1, text) once, then leave without
    cleanup. The queue's feeder thread writes to the pipe, so building the next part never waits for the
    parent."""
    # Let go of the parent's terminal and log pipes: whoever waits for them to close (a supervisor, a
    # test reading a killed command's output) must not wait for this child too.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    try:
        for index, prepared in zip(only, _parts(*args, only=only), strict=False):
            parts.put(("part", index, prepared))
    except BaseException as exc:  # noqa: BLE001 - the parent must hear about any failure
        parts.put(("error", -1, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"))
    finally:
        parts.close()
        parts.join_thread()  # every part is in the pipe (the parent may still be reading it)
        os._exit(0)  # no atexit handlers, no finalisers of objects inherited from the parent


class Books:
    """The parts of one load, in order; iterate once, then close() (also on failure).

    `transform`, when given, is applied to each prepared part where it is built (in the child too), and the
    parts come out transformed."""

    def __init__(self, scenario: Scenario, roster: list[dict[str, Any]], now: datetime, class_id: int,
                 owner_id: int, dialect: Any, per_part: int | None = None, workers: int | None = None,
                 transform: Transform | None = None) -> None:
        per_part = per_part or STUDENTS_PER_PART
        self.count = part_count(len(roster), per_part)
        self._args = (scenario, roster, now, class_id, owner_id, per_part, dialect, transform)
        self._workers: list[tuple[Any, Any]] = []  # (process, queue); worker k builds parts k, k + n, ...
        self._stalled = False  # a child stopped sending: every part still missing is built here
        if self.count > 1 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            n = max(1, min(workers or WORKERS, self.count))
            for k in range(n):
                parts = context.Queue()
                process = context.Process(target=_produce, args=(parts, range(k, self.count, n), *self._args),
                                          daemon=True, name=f"scenario-generate-{k + 1}")
                process.start()
                self._workers.append((process, parts))

    @property
    def processes(self) -> list[Any]:
        """The worker processes generating parts."""
        return [process for process, _parts in self._workers]

    def __iter__(self) -> Iterator[Any]:
        if not self._workers:
            here = _parts(*self._args)
            for _ in range(self.count):
                yield self._own(here)
            return
        # Parts go out in order (part 0 brings the catalogue the others point at). While the next one is
        # not ready, this process builds parts from the end itself instead of waiting: with the children
        # building from the start, the two meet in the middle whichever of them is faster.
        mine = _parts(*self._args, only=range(self.count - 1, 0, -1))
        built: dict[int, Any] = {}
        low, high = 0, self.count - 1  # next part to hand out; highest part nobody here has built yet
        while low < self.count:
            if low in built:
                part = built.pop(low)
            elif self._stalled:
                part = self._build_here(low)
            elif high > low and not self._ready(low):
                built[high] = self._own(mine)
                high -= 1
                continue
            else:
                part = self._take(low)
            low += 1
            if low > high:
                self._stop()  # the children would only build parts this process already has
            yield part

    def _worker(self, index: int) -> tuple[Any, Any]:
        return self._workers[index % len(self._workers)]

    def _ready(self, index: int) -> bool:
        """Whether part `index` can be taken from its child without waiting."""
        return not self._worker(index)[1].empty()

    def _build_here(self, index: int) -> Any:
        return self._own(_parts(*self._args, only=range(index, index + 1)))

    def _take(self, index: int) -> Any:
        process, parts = self._worker(index)
        deadline = time.monotonic() + STALL_SECONDS
        while True:
            try:
                kind, sent, payload = parts.get(timeout=POLL_SECONDS)
                break
            except queue.Empty:
                if not process.is_alive() and parts.empty():
                    raise GenerationError("the generating process ended before sending every part") from None
                if time.monotonic() > deadline:
                    log.warning("scenario generation: %s sent nothing for %d s; building the rest in this process",
                                process.name, STALL_SECONDS)
                    self._stalled = True
                    self._stop()
                    return self._build_here(index)
        if kind == "error":
            raise GenerationError(payload.splitlines()[0])
        if sent != index:  # a child's parts are taken in the order it builds them: anything else is a bug
            raise GenerationError(f"expected part {index}, the generating process sent part {sent}")
        return payload  # type: ignore[no-any-return]

    @staticmethod
    def _own(mine: Iterator[Any]) -> Any:
        try:
            return next(mine)
        except Exception as exc:
            raise GenerationError(f"{type(exc).__name__}: {exc}") from exc

    def _stop(self) -> None:
        for process, _parts in self._workers:
            if process.is_alive():
                process.kill()

    def close(self) -> None:
        """Stop the children still working (a reset that failed midway, or parts this process built) and
        reap them."""
        self._stop()
        for process, parts in self._workers:
            process.join(JOIN_SECONDS)
            parts.close()
            parts.cancel_join_thread()
