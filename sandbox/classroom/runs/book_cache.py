"""Generated books kept by the hash of everything that generated them, so that a reset is mostly insert work.

A student's book is a pure function of the scenario text, the student (username, id), the class, the class
catalogue's owner, the book time and the generator's code (seed/generate.py). The book time is the run's
start rounded down to the hour (BOOK_TIME_STEP), not the start itself: with the exact second no two resets
would ever share a book, while with the hour every reset of a class within it finds its books ready (a
generated record is still dated strictly before the run's start, which is all the rest of the app relies
on). Late joiners get the book time of the class run they join, so their books are the class load's.

One entry per student (`cached_books`, keyed by SHA-256 of those inputs, the dialect and a digest of the
generator's own source): a one-student reset or a class whose roster changed by one still finds the
other books. The payload is the book *as the loader inserts it* (loader.prepare()'s driver-ready values)
in JSON, compressed, behind a SHA-256 of itself: a damaged entry fails the check and is regenerated,
never loaded. JSON, not pickle, so nothing in the table is ever executed. Newly generated books travel
from the generating child in that same encoding and are decoded like a cached one, so the rows inserted
on a miss and on a hit come from one code path.

Entries are written in the reset's own transaction (SQLite holds the write lock for the reset, so
another connection could not write anyway): a reset that rolls back takes its new entries with it,
which loses a little work and never poisons anything, since an entry is right whatever the reset does.
Beyond BOOK_CACHE_MB megabytes of payloads, the least recently used entries are evicted.
"""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from seed import Scenario, generate_parts
from seed.generate import CLASS_TABLES

from ...clock import utcnow
from ...shared_state import CachedBook
from .generation import Books
from .loader import Batch, Prepared, prepare

BOOK_TIME_STEP = timedelta(hours=1)
MAGIC = b"SBK1"
FORMAT = "book-cache/1"  # bump when the payload's layout changes
DEFAULT_MB = 64
# Students whose books are merged into one part for the insert (fewer, longer executemany calls).
MERGE = 10

_TYPES: dict[type, str] = {datetime: "dt", date: "d", Decimal: "n", time: "tm"}
_PARSE = {"dt": datetime.fromisoformat, "d": date.fromisoformat, "n": Decimal, "tm": time.fromisoformat}


class Uncacheable(ValueError):
    """A prepared book holding a value the payload cannot carry exactly (it is then inserted, not cached)."""


class Corrupt(ValueError):
    """A payload that fails its checksum or does not decode to a book."""


@cache
def generator_version() -> str:
    """A digest of the code that makes a book (the seed package and the loader's prepare()): any change to it
    changes every key, so a book from older code is never used."""
    here = Path(__file__).resolve().parent
    seed_dir = Path(generate_parts.__code__.co_filename).resolve().parent
    digest = hashlib.sha256(FORMAT.encode())
    for path in sorted(seed_dir.glob("*.py")) + [here / "loader.py"]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def book_time(run_started_at: datetime) -> datetime:
    """The time a run's books are generated as of: its start rounded down to BOOK_TIME_STEP."""
    step = int(BOOK_TIME_STEP.total_seconds())
    epoch = datetime(2000, 1, 1)
    seconds = int((run_started_at.replace(microsecond=0) - epoch).total_seconds())
    return epoch + timedelta(seconds=seconds - seconds % step)


def book_key(scenario: Scenario, scenario_text: str, student: dict[str, Any], class_id: int, owner_id: int,
             at: datetime, dialect_name: str) -> str:
    """SHA-256 (hex) of everything a student's book is generated from."""
    facts = {"generator": generator_version(), "dialect": dialect_name, "scenario": scenario_text,
             "seed": scenario.seed, "username": student["username"], "user_id": student["user_id"],
             "class_id": class_id, "class_owner_id": owner_id, "at": at.isoformat()}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# --- payload ---------------------------------------------------------------------------------------------

def _column_types(values: list[list[Any]], width: int) -> list[str | None]:
    types: list[str | None] = [None] * width
    for row in values:
        for i, value in enumerate(row):
            if value is None:
                continue
            kind = _TYPES.get(type(value))
            if kind is None and type(value) not in (str, int, float, bool):
                raise Uncacheable(f"{type(value).__name__} values")
            if types[i] is None:
                types[i] = kind or ""
            elif types[i] != (kind or ""):
                raise Uncacheable("a column of mixed types")
    return [t or None for t in types]


def encode(book: Prepared) -> bytes:
    """A student's prepared book (no class tables) → checksummed, compressed JSON."""
    tables = {}
    for name, batch in book.items():
        if not isinstance(batch, Batch):
            raise Uncacheable(f"{name} is not a batch")
        types = _column_types(batch.values, len(batch.columns))
        typed = [i for i, t in enumerate(types) if t]
        values = batch.values
        if typed:
            values = [list(row) for row in batch.values]
            for row in values:
                for i in typed:
                    if row[i] is not None:
                        row[i] = row[i].isoformat() if types[i] != "n" else str(row[i])
        tables[name] = {"c": batch.columns, "t": types, "v": values, "r": batch.refs, "k": batch.keys}
    body = zlib.compress(json.dumps(tables, ensure_ascii=False, separators=(",", ":")).encode(), 1)
    return MAGIC + hashlib.sha256(body).digest() + body


def decode(payload: bytes) -> Prepared:
    """encode()'s payload → the prepared book; Corrupt when it is not exactly what encode() wrote."""
    return decode_body(checked(payload))


def checked(payload: Any) -> bytes:
    """The compressed body of a payload whose checksum holds; Corrupt otherwise."""
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise Corrupt("not bytes")
    payload = bytes(payload)
    head, digest, body = payload[:4], payload[4:36], payload[36:]
    if head != MAGIC or hashlib.sha256(body).digest() != digest:
        raise Corrupt("checksum")
    return body


def decode_body(body: bytes) -> Prepared:
    """A checked() body → the prepared book; Corrupt when it does not decode to one."""
    try:
        tables = json.loads(zlib.decompress(body))
        book: Prepared = {}
        for name, item in tables.items():
            columns, types, values = item["c"], item["t"], item["v"]
            for i, kind in enumerate(types):
                if kind:
                    parse = _PARSE[kind]
                    for row in values:
                        if row[i] is not None:
                            row[i] = parse(row[i])
            book[name] = Batch(columns=columns, values=values, refs=[(int(p), str(r)) for p, r in item["r"]],
                               keys=item["k"])
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, zlib.error) as exc:
        raise Corrupt(str(exc)) from None
    return book


def split(part: Prepared) -> tuple[Prepared, Prepared]:
    """(the class's catalogue tables, the student's book) of a one-student part."""
    return ({k: v for k, v in part.items() if k in CLASS_TABLES},
            {k: v for k, v in part.items() if k not in CLASS_TABLES})


def encode_part(part: Prepared) -> tuple[Prepared, bytes | Prepared]:
    """Books' transform: a one-student part → (catalogue tables, encoded book, or the book itself if uncacheable)."""
    catalogue, book = split(part)
    try:
        return catalogue, encode(book)
    except Uncacheable:
        return catalogue, book


def merge(books: list[Prepared]) -> Prepared:
    """Several students' prepared books as one part (same tables, rows one after the other)."""
    merged: Prepared = {}
    for book in books:
        for name, batch in book.items():
            have = merged.get(name)
            if have is None:
                merged[name] = Batch(list(batch.columns), list(batch.values), list(batch.refs),
                                     list(batch.keys) if batch.keys is not None else None)
            elif have.columns == batch.columns and have.refs == batch.refs and \
                    (have.keys is None) == (batch.keys is None):
                have.values.extend(batch.values)
                if have.keys is not None:
                    have.keys.extend(batch.keys or [])
            else:  # never seen: every book of one generator has the same columns
                raise Uncacheable(f"{name}: books with different columns")
    return merged


# --- the table ---------------------------------------------------------------------------------------------

def read(conn: Connection, keys: list[str]) -> tuple[dict[str, bytes], set[str]]:
    """(key → checked() body) of the entries whose checksum holds, and the keys whose entry is damaged."""
    found: dict[str, bytes] = {}
    damaged: set[str] = set()
    table = CachedBook.__table__
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for key, payload in conn.execute(select(table.c.input_hash, table.c.payload)
                                         .where(table.c.input_hash.in_(chunk))):
            try:
                found[key] = checked(payload)
            except Corrupt:
                damaged.add(key)
    return found, damaged


class _Decoding:
    """The bodies of the cache's hits decoded in a thread beside the reset.

    Decoding is pure Python work (zlib, JSON: ~50 ms for a class of 60) that the reset would otherwise do
    before its first insert, while the database snapshots and deletes the old data in SQLite's C code, which
    releases the GIL: in a thread the two overlap instead of adding up. `result()` waits for the thread."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.books: dict[str, Prepared] = {}
        self.corrupt: set[str] = set()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(bodies,), name="book-cache-decode", daemon=True)
        self._thread.start()

    def _run(self, bodies: dict[str, bytes]) -> None:
        try:
            for key, body in bodies.items():
                try:
                    self.books[key] = decode_body(body)
                except Corrupt:
                    self.corrupt.add(key)
        except BaseException as exc:  # noqa: BLE001 - handed to the reset's thread by result()
            self._error = exc

    def wait(self) -> None:
        """Until the thread is done."""
        self._thread.join()

    def result(self) -> tuple[dict[str, Prepared], set[str]]:
        """(key → book, keys whose body did not decode) once the thread is done; its failure, raised here."""
        self.wait()
        if self._error is not None:
            raise self._error
        return self.books, self.corrupt


def write(conn: Connection, entries: dict[str, bytes], used: list[str], damaged: set[str], cap_bytes: int) -> None:
    """Store new entries (replacing damaged ones), mark the used ones, evict beyond the cap."""
    table = CachedBook.__table__
    now = utcnow()
    if damaged:
        conn.execute(delete(table).where(table.c.input_hash.in_(sorted(damaged))))
    for start in range(0, len(used), 500):
        conn.execute(update(table).where(table.c.input_hash.in_(used[start:start + 500])).values(used_at=now))
    if entries:
        conn.execute(table.insert(), [{"input_hash": key, "payload": payload, "size": len(payload),
                                       "created_at": now, "used_at": now} for key, payload in entries.items()])
    total = conn.scalar(select(func.coalesce(func.sum(table.c.size), 0))) or 0
    if total <= cap_bytes:
        return
    # Least recently used first; the books of this reset were just used, so they go last.
    doomed: list[str] = []
    for key, size in conn.execute(select(table.c.input_hash, table.c.size).order_by(table.c.used_at, table.c.input_hash)):
        if total <= cap_bytes:
            break
        doomed.append(key)
        total -= size
    for start in range(0, len(doomed), 500):
        conn.execute(delete(table).where(table.c.input_hash.in_(doomed[start:start + 500])))


class CachedBooks:
    """The parts of one load like Books, each student's book from the cache when it is there, generated
    (in the forked child, one student per part) when it is not; iterate once, then close() (also on failure).

    Parts come out in roster order (so ids are given in the same order as without the cache): first the
    catalogue, then the students' books merged MERGE at a time. `stored()` writes the new entries; call it
    in the load's transaction once the parts are inserted.
    """

    def __init__(self, scenario: Scenario, text: str, roster: list[dict[str, Any]], now: datetime, class_id: int,
                 owner_id: int, conn: Connection, workers: int | None = None, cap_mb: float = DEFAULT_MB) -> None:
        self.at = book_time(now)
        dialect = conn.dialect
        self._scenario, self._class_id, self._owner_id, self._dialect = scenario, class_id, owner_id, dialect
        self._cap = int(cap_mb * 1024 * 1024)
        self.keys = [book_key(scenario, text, member, class_id, owner_id, self.at, dialect.name) for member in roster]
        bodies, self._damaged = read(conn, list(dict.fromkeys(self.keys)))
        self._hits = set(bodies)
        self._members = dict(zip(self.keys, roster, strict=True))
        self._decoding = _Decoding(bodies) if bodies else None
        self.missing = [member for member, key in zip(roster, self.keys, strict=True) if key not in self._hits]
        self._new: dict[str, bytes] = {}
        self._books = Books(scenario, self.missing, self.at, class_id, owner_id, dialect, per_part=1,
                            workers=workers, transform=encode_part) if self.missing else None

    @property
    def hits(self) -> int:
        """How many of the roster's books came from the cache."""
        return len(self.keys) - len(self.missing)

    def _catalogue(self) -> Prepared:
        rows = next(generate_parts(self._scenario, [], self.at, class_id=self._class_id,
                                   class_owner_id=self._owner_id))
        return prepare(rows, self._dialect)

    def __iter__(self) -> Iterator[Prepared]:
        generated = iter(self._books) if self._books is not None else None
        first: tuple[Prepared, Any] | None = None
        if generated is not None:
            first = next(generated)
            yield first[0]
        else:
            yield self._catalogue()
        decoded, corrupt = self._decoding.result() if self._decoding is not None else ({}, set())
        pending: list[Prepared] = []
        for key in self.keys:
            if key in corrupt:  # intact checksum, yet no book: regenerated here, and the entry replaced
                book = self._regenerate(key)
            elif key in self._hits:
                book = decoded[key]
            else:
                _catalogue, payload = first if first is not None else next(generated)  # type: ignore[arg-type]
                first = None
                if isinstance(payload, bytes):
                    book = decode(payload)  # the very bytes the cache keeps: a hit inserts what a miss inserted
                    self._new[key] = payload
                else:
                    book = payload
            pending.append(book)
            if len(pending) == MERGE:
                yield merge(pending)
                pending = []
        if pending:
            yield merge(pending)

    def _regenerate(self, key: str) -> Prepared:
        books = Books(self._scenario, [self._members[key]], self.at, self._class_id, self._owner_id, self._dialect,
                      per_part=1, transform=encode_part)
        try:
            _catalogue, payload = next(iter(books))
        finally:
            books.close()
        self._hits.discard(key)
        self._damaged.add(key)
        if not isinstance(payload, bytes):
            return payload  # type: ignore[no-any-return]
        self._new[key] = payload
        return decode(payload)

    def store(self, conn: Connection) -> None:
        """Write the books generated now, mark the ones used, evict beyond the cap (in the load's transaction)."""
        used = sorted({key for key in self.keys if key in self._hits})
        write(conn, self._new, used, self._damaged, self._cap)

    def close(self) -> None:
        """Stop the generating children (see Books.close); wait for the decoding thread."""
        if self._books is not None:
            self._books.close()
        if self._decoding is not None:
            self._decoding.wait()
