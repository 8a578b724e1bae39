"""State that several workers share (issue 9): the throttle's counters in the database, the secret key
generated once by whichever process comes first, and the client address behind a reverse proxy.

The two-server tests (the throttle and session revocation across real processes) are in
tests/test_multiworker.py.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from sqlalchemy import func, select

from sandbox import limiter_store
from sandbox.config import instance_secret_key
from sandbox.extensions import db, limiter
from sandbox.limiter_store import DatabaseStorage
from sandbox.oplog import LogEntry
from sandbox.shared_state import RateLimitCounter
from tests.conftest import login

T0 = 1_800_000_000.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The store's notion of now, moved by the test (no sleeping)."""
    now = [T0]
    monkeypatch.setattr(limiter_store, "time", SimpleNamespace(time=lambda: now[0]))
    return now


def rows() -> dict[str, tuple[int, float]]:
    """Every counter row as key → (count, expires_at), read in a fresh transaction."""
    db.session.rollback()
    return {r.key: (r.count, r.expires_at) for r in db.session.scalars(select(RateLimitCounter))}


# ---- the storage ------------------------------------------------------------------------------------------


def test_the_database_store_counts_within_a_window_and_restarts_an_expired_one(app, clock):
    """Counts add up inside the window; once it has ended the next hit starts a new window at 1."""
    store = DatabaseStorage()
    assert [store.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert store.incr("a", 60, amount=2) == 5
    assert store.incr("b", 60) == 1
    assert store.get("a") == 5 and store.get("b") == 1 and store.get("never") == 0
    assert store.get_expiry("a") == T0 + 60
    assert store.get_expiry("never") == T0
    assert rows() == {"a": (5, T0 + 60), "b": (1, T0 + 60)}
    clock[0] = T0 + 59.5  # still inside: the window keeps its end
    assert store.incr("a", 60) == 6 and store.get_expiry("a") == T0 + 60
    clock[0] = T0 + 60  # the window has ended
    assert store.get("a") == 0 and store.get_expiry("a") == T0 + 60
    assert store.incr("a", 60) == 1
    assert store.get_expiry("a") == T0 + 120
    assert rows()["a"] == (1, T0 + 120)


def _hammer(url: str, barrier: Any, out: Any) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)  # a process of its own, with its own connections, as a gunicorn worker has
    store = DatabaseStorage(engine=engine)
    barrier.wait()
    out.put([store.incr("shared", 600) for _ in range(40)])
    engine.dispose()


def test_increments_from_four_processes_at_once_are_never_lost(app):
    """Four processes increment one key at the same instant: every hit counts once, and every caller sees a
    different count (the upsert is atomic: no two read the same value and write the same sum)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.commit()
    db.session.remove()
    db.engine.dispose()  # no connection of this process crosses the fork
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(4), context.Queue()
    procs = [context.Process(target=_hammer, args=(url, barrier, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    seen = [count for _ in procs for count in out.get(timeout=120)]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert sorted(seen) == list(range(1, 161))
    assert DatabaseStorage().get("shared") == 160


def test_clear_forgets_one_key_and_reset_forgets_all(app, clock):
    """clear(key) forgets that key only; reset() forgets every counter and says how many."""
    store = DatabaseStorage()
    for key in ("a", "b", "c"):
        store.incr(key, 60)
    store.incr("a", 60)
    store.clear("a")
    assert store.get("a") == 0 and store.get("b") == 1
    assert set(rows()) == {"b", "c"}
    assert store.reset() == 2
    assert rows() == {}
    assert store.check() is True


def test_expired_rows_are_swept_now_and_then(app, clock):
    """An increment sweeps expired rows at most once a minute per process, and never a live one."""
    store = DatabaseStorage()
    store.incr("short", 10)
    store.incr("long", 3600)
    clock[0] = T0 + 30  # "short" has expired, but the last sweep was 30 s ago: not yet
    store.incr("other", 60)
    assert set(rows()) == {"short", "long", "other"}
    clock[0] = T0 + limiter_store.SWEEP_SECONDS + 1
    store.incr("other", 60)
    assert set(rows()) == {"long", "other"}


def test_the_fixed_window_strategy_over_the_store_refuses_the_hit_past_the_limit(app, clock):
    """Through `limits` itself: the scheme is registered and 3 per minute means the fourth hit is refused."""
    store = storage_from_string("sandbox+db://")
    assert isinstance(store, DatabaseStorage)
    strategy = FixedWindowRateLimiter(store)
    three = RateLimitItemPerMinute(3)
    assert [strategy.hit(three, "sign-in", "10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert strategy.hit(three, "sign-in", "10.0.0.2") is True
    assert strategy.test(three, "sign-in", "10.0.0.1") is False
    stats = strategy.get_window_stats(three, "sign-in", "10.0.0.1")
    assert stats.remaining == 0 and stats.reset_time == T0 + 60
    clock[0] = T0 + 61
    assert strategy.hit(three, "sign-in", "10.0.0.1") is True


def test_a_count_is_committed_on_its_own_whatever_the_requests_session_does(app):
    """The store writes in its own transaction: rolling back the request's session keeps the count."""
    db.session.scalar(select(func.count()).select_from(RateLimitCounter))  # the session's transaction is open
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # PostgreSQL: even while the session holds uncommitted writes (SQLite allows one writer at a time).
        db.session.add(RateLimitCounter(key="in-session", count=7, expires_at=T0 * 2))
        db.session.flush()
    assert DatabaseStorage().incr("own", 60) == 1
    db.session.rollback()
    assert set(rows()) == {"own"}


def test_the_app_uses_the_database_store_by_default_and_another_when_configured(app_factory):
    """No setting: the database store; RATELIMIT_STORAGE_URI picks another (memory:// here; redis://… likewise)."""
    assert app_factory(RATELIMIT_ENABLED=True).config["RATELIMIT_STORAGE_URI"] == "sandbox+db://"
    assert isinstance(limiter.storage, DatabaseStorage)
    app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    assert isinstance(limiter.storage, MemoryStorage)


def test_a_refused_sign_in_is_counted_in_the_database_and_a_new_process_still_refuses(app_factory, classroom):
    """The sign-in throttle counts in rate_limit_counters; an app built afresh (a restart, another worker)
    over the same database refuses the eleventh attempt just the same."""
    first = app_factory(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    for _attempt in range(3):
        assert login(first.test_client(), "studentA", "guess-12345").status_code == 401
    counters = {key: count for key, (count, _end) in rows().items()}
    assert sorted(counters.values()) == [3, 3]  # per address and username; per address
    assert any("studenta" in key for key in counters)
    second = app_factory(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    assert login(second.test_client(), "studentA", "guess-12345").status_code == 429
    assert login(second.test_client(), "studentA").status_code == 429  # the right password too
    assert login(second.test_client(), "peerA").status_code == 302  # another username from the address


# ---- behind a reverse proxy -------------------------------------------------------------------------------


def failed_sign_in_ips() -> list[str]:
    """The addresses recorded with refused sign-ins, oldest first."""
    db.session.rollback()
    return list(db.session.scalars(select(LogEntry.ip).where(LogEntry.verb == "auth.login_failed")
                                   .order_by(LogEntry.id).execution_options(skip_visibility=True)))


def test_without_a_proxy_setting_x_forwarded_for_is_ignored(app_factory, classroom):
    """FORWARDED_HOPS unset: a client's own X-Forwarded-For changes neither the address nor the throttle."""
    throttled = app_factory(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute")
    for n in range(2):
        response = throttled.test_client().post(
            "/auth/login", data={"username": "studentA", "password": "guess-12345"},
            headers={"X-Forwarded-For": f"198.51.100.{n}"}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
        assert response.status_code == 401
    spoofed = throttled.test_client().post(
        "/auth/login", data={"username": "studentA", "password": "guess-12345"},
        headers={"X-Forwarded-For": "198.51.100.99"}, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert spoofed.status_code == 429
    assert failed_sign_in_ips() == ["10.1.1.1", "10.1.1.1"]


def test_behind_one_proxy_x_forwarded_for_decides_the_address(app_factory, classroom):
    """FORWARDED_HOPS=1: the address the proxy appended is the client's (log and throttle); one hop only."""
    throttled = app_factory(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute", FORWARDED_HOPS=1)

    def attempt(forwarded: str) -> int:
        return throttled.test_client().post(
            "/auth/login", data={"username": "studentA", "password": "guess-12345"},
            headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code

    assert [attempt("203.0.113.5"), attempt("203.0.113.5"), attempt("203.0.113.5")] == [401, 401, 429]
    assert attempt("203.0.113.6") == 401  # another client behind the same proxy has its own count
    # A client that writes its own header gets the proxy's appended address, the last one, as nginx sends it.
    assert attempt("6.6.6.6, 203.0.113.5") == 429
    assert failed_sign_in_ips() == ["203.0.113.5", "203.0.113.5", "203.0.113.6"]


def test_forwarded_hops_comes_from_the_environment(monkeypatch):
    """FORWARDED_HOPS is read from the environment (0 when unset or empty)."""
    import importlib

    import sandbox.config as config

    monkeypatch.setenv("FORWARDED_HOPS", "2")
    assert importlib.reload(config).Config.FORWARDED_HOPS == 2
    monkeypatch.setenv("FORWARDED_HOPS", "")
    assert importlib.reload(config).Config.FORWARDED_HOPS == 0
    monkeypatch.delenv("FORWARDED_HOPS")
    assert importlib.reload(config).Config.FORWARDED_HOPS == 0


# ---- the secret key ---------------------------------------------------------------------------------------


def _race_for_key(folder: str, barrier: Any, out: Any) -> None:
    barrier.wait()
    out.put(instance_secret_key(folder))


def test_processes_starting_together_agree_on_one_generated_secret_key(tmp_path, monkeypatch):
    """Eight processes generate the instance key at the same instant: one wins, all read its key."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    context = multiprocessing.get_context("fork")
    for round_ in range(3):
        folder = tmp_path / f"instance-{round_}"
        barrier, out = context.Barrier(8), context.Queue()
        procs = [context.Process(target=_race_for_key, args=(str(folder), barrier, out)) for _ in range(8)]
        for proc in procs:
            proc.start()
        keys = [out.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        assert len(set(keys)) == 1 and len(keys[0]) == 64
        assert (folder / "secret_key").read_text() == keys[0]
        assert stat.S_IMODE((folder / "secret_key").stat().st_mode) == 0o600
        assert os.listdir(folder) == ["secret_key"]  # no candidate left behind
    # Once written, the key is read back, and SECRET_KEY from the environment wins over it.
    assert instance_secret_key(str(folder)) == keys[0]
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert instance_secret_key(str(folder)) == "from-the-environment"


def test_a_counter_table_row_count_matches_the_hits(app, clock):
    """Many keys, one row each: the table holds exactly the live windows."""
    store = DatabaseStorage()
    for n in range(20):
        store.incr(f"k{n % 5}", 60)
    assert db.session.scalar(select(func.count()).select_from(RateLimitCounter)) == 5
    assert {key: count for key, (count, _end) in rows().items()} == {f"k{n}": 4 for n in range(5)}



# ---- docs/DEPLOY.md -----------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_the_deploy_page_is_linked_and_names_only_real_settings_and_files():
    """README links docs/DEPLOY.md; every setting it names is a real one, every file it names exists, and
    the nginx example's upload size is the app's MAX_CONTENT_LENGTH."""
    from sandbox.config import Config

    assert "docs/DEPLOY.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    text = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    # DATABASE_URL and SECRET_KEY are read in the factory, TEST_POSTGRES_URL by the tests: not Config attributes.
    settings = set(re.findall(r"`([A-Z][A-Z_]{3,})(?:=[^`]*)?`", text))
    assert {"DATABASE_URL", "SECRET_KEY", "UPLOAD_FOLDER", "FORWARDED_HOPS", "RATELIMIT_STORAGE_URI"} <= settings
    read_elsewhere = {"DATABASE_URL", "TEST_POSTGRES_URL", "SECRET_KEY"}
    assert sorted(s for s in settings - read_elsewhere if not hasattr(Config, s)) == []
    for path in re.findall(r"`((?:sandbox|tests|bench)/[\w/]+\.py)`", text):
        assert (ROOT / path).is_file(), path
    for path in re.findall(r"`((?:classroom|workflows|auth)/[\w/]+\.py)`", text):
        assert (ROOT / "sandbox" / path).is_file(), path
    size = re.search(r"client_max_body_size (\d+)m;", text)
    assert size and int(size.group(1)) * 1024 * 1024 == Config.MAX_CONTENT_LENGTH
