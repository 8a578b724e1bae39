"""The cyclic garbage collector is paused during a reset's bulk work and a gradebook computation, and always resumed."""

from __future__ import annotations

import gc

import pytest

from sandbox.classroom.grading import incremental
from sandbox.classroom.runs import services
from sandbox.classroom.runs.gc_pause import no_cyclic_gc
from sandbox.classroom.runs.services import load_scenario, reset_scenario
from sandbox.extensions import db
from tests.conftest import act_as


@pytest.fixture
def loaded(app, classroom) -> None:
    """Class A with the sales-basics scenario loaded by its teacher."""
    act_as(classroom.user("teacher"))
    load_scenario(classroom.classes["A"], "sales-basics")
    db.session.commit()


def test_the_pause_nests_and_resumes_only_what_it_paused():
    assert gc.isenabled()
    with no_cyclic_gc():
        assert not gc.isenabled()
        with no_cyclic_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block did not resume what the outer one paused
    assert gc.isenabled()
    gc.disable()
    try:
        with no_cyclic_gc():
            pass
        assert not gc.isenabled()  # paused by someone else: left paused
    finally:
        gc.enable()
    with pytest.raises(ValueError), no_cyclic_gc():
        raise ValueError("boom")
    assert gc.isenabled()


def test_a_reset_inserts_with_the_collector_paused_and_resumes_it(app, classroom, loaded, monkeypatch):
    seen = []
    real = services.insert_rows

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "insert_rows", spy)
    act_as(classroom.user("teacher"))
    reset_scenario(classroom.classes["A"])
    db.session.commit()
    assert seen and not any(seen)
    assert gc.isenabled()


def test_a_reset_that_fails_midway_resumes_the_collector(app, classroom, loaded, monkeypatch):

    def crash(name: str) -> None:
        if name == "reset.deleted":
            assert not gc.isenabled()
            raise RuntimeError("power cut")

    monkeypatch.setattr(services.faults, "checkpoint", crash)
    act_as(classroom.user("teacher"))
    with pytest.raises(RuntimeError):
        reset_scenario(classroom.classes["A"])
    db.session.rollback()
    assert gc.isenabled()


def test_the_gradebook_computes_with_the_collector_paused_and_resumes_it(app, classroom, loaded, monkeypatch):
    from sandbox.classroom.grading.gradebook import gradebook
    from sandbox.classroom.runs.lookup import current_class_run

    seen = []
    real = incremental.evaluate

    def spy(objective, ctx):
        seen.append(gc.isenabled())
        return real(objective, ctx)

    monkeypatch.setattr(incremental, "evaluate", spy)
    book = gradebook(current_class_run(classroom.classes["A"].id))
    assert book.rows and seen and not any(seen)
    assert gc.isenabled()
