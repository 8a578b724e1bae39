"""The cache of generated books (classroom/runs/book_cache.py): a reset from the cache inserts exactly the rows a
fresh generation would, other inputs miss it, a damaged entry is regenerated and never loaded, the size is capped."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from sandbox.classroom.runs import book_cache
from sandbox.classroom.runs.book_cache import CachedBooks, Corrupt, book_key, book_time, decode, encode
from sandbox.classroom.runs.loader import Batch
from sandbox.classroom.runs.lookup import current_class_run
from sandbox.classroom.runs.services import load_scenario, reset_scenario
from sandbox.extensions import db
from sandbox.shared_state import CachedBook
from seed import TABLE_ORDER, parse_scenario
from tests.conftest import act_as

GENERATED = [name for name in TABLE_ORDER if name != "code_values"]
RELATED = {"lead": "leads", "account": "accounts", "contact": "contacts", "opportunity": "opportunities"}
# Books are generated as of the run start rounded down to this step: one huge step keeps every reset of a test
# in the same book time whenever the test runs (the real step is an hour).
STEP = timedelta(days=3650)


@pytest.fixture(autouse=True)
def _one_book_time(monkeypatch):
    monkeypatch.setattr(book_cache, "BOOK_TIME_STEP", STEP)


def _max_ids() -> dict[str, int]:
    tables = db.metadata.tables
    return {name: db.session.scalar(select(func.coalesce(func.max(tables[name].c.id), 0))) for name in GENERATED}


def _new_rows(before: dict[str, int]) -> dict[str, list[tuple]]:
    """Every row inserted since `before`, table by table, with ids (and references to rows inserted with them)
    replaced by their rank among the new rows: two loads of the same books compare equal."""
    tables = db.metadata.tables
    db.session.expire_all()
    new = {name: db.session.execute(select(tables[name]).where(tables[name].c.id > before[name])
                                    .order_by(tables[name].c.id)).mappings().all() for name in GENERATED}
    rank = {name: {row["id"]: i for i, row in enumerate(rows)} for name, rows in new.items()}
    out: dict[str, list[tuple]] = {}
    for name, rows in new.items():
        table = tables[name]
        refs = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys if fk.column.table.name in rank}
        shaped = []
        for row in rows:
            item = []
            for column, value in row.items():
                target = "self" if column == "id" else refs.get(column)
                if name == "activities" and column == "related_id":
                    target = RELATED.get(row["related_type"])
                if target is not None and value is not None:
                    value = ("new", rank[name if target == "self" else target].get(value, f"old:{value}"))
                item.append((column, value))
            shaped.append(tuple(item))
        out[name] = shaped
    return out


def _reset(classroom, app, cached: bool = True, student=None):
    app.config["SCENARIO_BOOK_CACHE"] = cached
    before = _max_ids()
    act_as(classroom.user("teacher"))
    result = reset_scenario(classroom.classes["A"], student=student)
    db.session.commit()
    return result, _new_rows(before)


def _load(classroom):
    act_as(classroom.user("teacher"))
    before = _max_ids()
    load_scenario(classroom.classes["A"], "sales-basics")
    db.session.commit()
    return _new_rows(before)


def _entries() -> dict[str, bytes]:
    db.session.expire_all()
    return dict(db.session.execute(select(CachedBook.input_hash, CachedBook.payload)).all())


def test_a_reset_from_the_cache_inserts_exactly_what_generation_would(app, classroom):
    loaded = _load(classroom)
    stored = _entries()
    assert len(stored) == 4  # one book per active student of class A, written by the load
    assert sum(len(rows) for rows in loaded.values()) > 400
    _hit, from_cache = _reset(classroom, app)
    assert _entries().keys() == stored.keys()  # every book was found: nothing new was written
    _fresh, generated = _reset(classroom, app, cached=False)
    for name in GENERATED:
        assert from_cache[name] == generated[name] == loaded[name], name
    assert sum(len(rows) for rows in from_cache.values()) == sum(len(rows) for rows in generated.values())


def test_one_student_reset_and_a_new_roster_reuse_the_other_books(app, classroom):
    _load(classroom)
    student = classroom.user("studentA")
    _r, cached_one = _reset(classroom, app, student=student)
    _r, fresh_one = _reset(classroom, app, cached=False, student=student)
    assert cached_one == fresh_one and len(cached_one["leads"]) == 100
    klass = classroom.classes["A"]
    run = current_class_run(klass.id)
    roster = [{"username": u.username, "user_id": u.id, "class_id": klass.id}
              for u in (classroom.user(n) for n in ("managerA", "studentA", "peerA", "studentA2"))]
    teacher = classroom.user("teacher").id
    conn = db.session.connection()
    books = CachedBooks(run.scenario, run.scenario_text, roster, run.started_at, klass.id, teacher, conn)
    books.close()
    assert books.hits == 4 and not books.missing
    newcomer = {"username": "newcomer", "user_id": 9999, "class_id": klass.id}
    books = CachedBooks(run.scenario, run.scenario_text, [*roster, newcomer], run.started_at, klass.id, teacher, conn)
    try:
        assert books.hits == 4 and books.missing == [newcomer]
    finally:
        books.close()


def test_the_scenario_text_the_seed_the_roster_and_the_time_change_the_key():
    text = (book_cache.generate_parts.__code__.co_filename.rsplit("/", 1)[0] + "/../scenarios/sales-basics.yaml")
    with open(text, encoding="utf-8") as handle:
        yaml = handle.read()
    scenario = parse_scenario(yaml, "sales-basics.yaml")
    student = {"username": "alice", "user_id": 7, "class_id": 3}
    at = datetime(2026, 3, 2, 9)
    base = book_key(scenario, yaml, student, 3, 1, at, "sqlite")
    assert base == book_key(scenario, yaml, dict(student), 3, 1, at, "sqlite")
    reseeded = scenario.model_copy(update={"seed": scenario.seed + 1})
    others = [
        book_key(scenario, yaml + "\n# edited\n", student, 3, 1, at, "sqlite"),
        book_key(reseeded, yaml, student, 3, 1, at, "sqlite"),
        book_key(scenario, yaml, {**student, "username": "bob"}, 3, 1, at, "sqlite"),
        book_key(scenario, yaml, {**student, "user_id": 8}, 3, 1, at, "sqlite"),
        book_key(scenario, yaml, student, 4, 1, at, "sqlite"),
        book_key(scenario, yaml, student, 3, 2, at, "sqlite"),
        book_key(scenario, yaml, student, 3, 1, at + timedelta(hours=1), "sqlite"),
        book_key(scenario, yaml, student, 3, 1, at, "postgresql"),
    ]
    assert len({base, *others}) == len(others) + 1


def test_book_time_is_the_start_rounded_down_to_the_step(monkeypatch):
    monkeypatch.setattr(book_cache, "BOOK_TIME_STEP", timedelta(hours=1))
    assert book_time(datetime(2026, 12, 3, 11, 59, 59, 999)) == datetime(2026, 12, 3, 11)
    assert book_time(datetime(2026, 12, 3, 12, 0, 0)) == datetime(2026, 12, 3, 12)


def test_a_changed_scenario_misses_the_cache(app, classroom):
    _load(classroom)
    klass = classroom.classes["A"]
    run = current_class_run(klass.id)
    roster = [{"username": "studentA", "user_id": classroom.user("studentA").id, "class_id": klass.id}]
    conn = db.session.connection()
    teacher = classroom.user("teacher").id
    same = CachedBooks(run.scenario, run.scenario_text, roster, run.started_at, klass.id, teacher, conn)
    same.close()
    edited = CachedBooks(run.scenario, run.scenario_text + "\n", roster, run.started_at, klass.id, teacher, conn)
    edited.close()
    reseeded = run.scenario.model_copy(update={"seed": run.scenario.seed + 1})
    other_seed = CachedBooks(reseeded, run.scenario_text, roster, run.started_at, klass.id, teacher, conn)
    other_seed.close()
    assert (same.hits, edited.hits, other_seed.hits) == (1, 0, 0)


def test_a_damaged_entry_is_regenerated_never_loaded(app, classroom):
    loaded = _load(classroom)
    stored = _entries()
    victim = sorted(stored)[0]
    payload = bytearray(stored[victim])
    payload[-5] ^= 0xFF  # one flipped byte in the compressed body
    db.session.execute(update(CachedBook).where(CachedBook.input_hash == victim).values(payload=bytes(payload)))
    db.session.commit()
    with pytest.raises(Corrupt):
        decode(bytes(payload))
    _r, after = _reset(classroom, app)
    assert after == loaded
    assert _entries() == stored  # the damaged entry was replaced by the regenerated book


def test_an_entry_that_passes_its_checksum_but_does_not_decode_is_regenerated(app, classroom):
    # The checksum is verified when the entries are read; the body is decoded later, in a thread: a body
    # that fails only there is still never loaded, and the entry is replaced by the regenerated book.
    import hashlib
    import zlib

    loaded = _load(classroom)
    stored = _entries()
    victim = sorted(stored)[1]
    body = zlib.compress(b'{"leads": [1, 2]}')
    garbage = book_cache.MAGIC + hashlib.sha256(body).digest() + body
    db.session.execute(update(CachedBook).where(CachedBook.input_hash == victim).values(payload=garbage))
    db.session.commit()
    _r, after = _reset(classroom, app)
    assert after == loaded
    assert _entries() == stored


def test_the_hits_are_decoded_beside_the_reset_in_a_thread(app, classroom, monkeypatch):
    import threading

    _load(classroom)
    where: list[str] = []
    real = book_cache.decode_body

    def spy(body):
        where.append(threading.current_thread().name)
        return real(body)

    monkeypatch.setattr(book_cache, "decode_body", spy)
    _r, _rows = _reset(classroom, app)
    assert where == ["book-cache-decode"] * 4


@pytest.mark.parametrize("damage", [b"", b"SBK1", b"junk" * 20, "truncate", "rechecksummed-garbage"])
def test_decode_refuses_anything_encode_did_not_write(damage):
    book = {"leads": Batch(["name", "created_at", "amount"], [["A", datetime(2026, 1, 2, 3, 4, 5), None]],
                           [], ["lead:a:1"])}
    good = encode(book)
    decoded = decode(good)
    assert decoded["leads"].values == book["leads"].values and decoded["leads"].keys == ["lead:a:1"]
    if damage == "truncate":
        damage = good[:-3]
    elif damage == "rechecksummed-garbage":
        import hashlib
        import zlib
        body = zlib.compress(b"[1, 2]")
        damage = b"SBK1" + hashlib.sha256(body).digest() + body
    with pytest.raises(Corrupt):
        decode(damage)


def test_values_round_trip_exactly():
    from datetime import date
    from decimal import Decimal

    values = [["x", 1, 2.5, True, Decimal("1200.00"), date(2026, 2, 28), datetime(2026, 2, 28, 23, 59, 1), None]]
    book = {"opportunities": Batch(list("abcdefgh"), [list(v) for v in values], [(1, "account_ref")], ["o:1"])}
    back = decode(encode(book))["opportunities"]
    assert back.values == values and [type(v) for v in back.values[0]] == [type(v) for v in values[0]]
    assert back.refs == [(1, "account_ref")] and str(back.values[0][4]) == "1200.00"


def test_the_least_recently_used_entries_go_beyond_the_cap(app):
    conn = db.session.connection()
    old = datetime(2026, 1, 1)
    for i in range(5):
        db.session.add(CachedBook(input_hash=f"{i:064d}", payload=b"x" * 100, size=100, created_at=old,
                                  used_at=old + timedelta(minutes=i)))
    db.session.flush()
    book_cache.write(conn, {"f" * 64: b"y" * 100}, used=[f"{0:064d}"], damaged=set(), cap_bytes=350)
    left = set(db.session.scalars(select(CachedBook.input_hash)))
    # 600 bytes, cap 350: the three least recently used go; entry 0 was just used, the new one just written.
    assert left == {f"{0:064d}", f"{4:064d}", "f" * 64}
