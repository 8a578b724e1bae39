"""A reset runs with a page cache wide enough for its whole transaction (SQLite), and puts the old size back."""

from __future__ import annotations

import pytest

from sandbox.classroom.runs import reset_scope
from sandbox.classroom.runs.page_cache import RESET_CACHE_MB, wide_page_cache
from sandbox.classroom.runs.services import load_scenario, reset_scenario
from sandbox.extensions import db
from tests.conftest import act_as


def _cache_size() -> int:
    return db.session.connection().exec_driver_sql("PRAGMA cache_size").scalar()


def test_a_reset_deletes_and_inserts_with_the_wide_cache_then_restores_it(app, classroom, monkeypatch):
    act_as(classroom.user("teacher"))
    load_scenario(classroom.classes["A"], "sales-basics")
    db.session.commit()
    postgres = db.session.connection().dialect.name == "postgresql"
    before = None if postgres else _cache_size()
    seen = []
    real = reset_scope.delete_scope

    def spy(conn, plan):
        seen.append(None if postgres else conn.exec_driver_sql("PRAGMA cache_size").scalar())
        return real(conn, plan)

    monkeypatch.setattr(reset_scope, "delete_scope", spy)
    act_as(classroom.user("teacher"))
    reset_scenario(classroom.classes["A"])
    assert seen == [None if postgres else -RESET_CACHE_MB * 1024]
    if not postgres:
        assert _cache_size() == before  # put back before the commit: pooled connections keep the default
    db.session.commit()


def test_the_wide_cache_never_shrinks_a_cache_and_is_restored_after_a_failure(app):
    conn = db.session.connection()
    if conn.dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")
    conn.exec_driver_sql("PRAGMA cache_size=-2000")
    with pytest.raises(ValueError), wide_page_cache(conn, mb=8):
        assert _cache_size() == -8 * 1024
        raise ValueError("boom")
    assert _cache_size() == -2000
    conn.exec_driver_sql("PRAGMA cache_size=-20000")
    with wide_page_cache(conn, mb=8):
        assert _cache_size() == -20000
    conn.exec_driver_sql("PRAGMA cache_size=-2000")
