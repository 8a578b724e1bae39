"""The shared test helpers and factories do what their names say (tests/helpers.py, tests/conftest.py)."""

from __future__ import annotations

import os
import shutil

import pytest
from babel.messages.mofile import read_mo
from sqlalchemy import select

from sandbox.classroom.models import Run
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.records.services import delete_record
from tests.conftest import RECORD_FACTORY_TYPES, act_as
from tests.helpers import TRANSLATIONS, compile_translations, count, entries


def test_count_options_say_which_rows_count(app, classroom, create_lead):
    """count() counts what its options say: visible rows, the recycle bin, every row; expire reloads objects."""
    mine = create_lead(classroom.user("studentA"), name="Mine")
    create_lead(classroom.user("studentC"), name="Other class")
    binned = create_lead(classroom.user("studentA"), name="Binned")
    act_as(classroom.user("studentA"))
    delete_record(binned)
    db.session.commit()
    # As studentA: the visibility rule hides class C's lead, the recycle bin hides the deleted one.
    assert count(Lead) == 1
    assert count(Lead, include_deleted=True) == 2
    # skip_visibility drops the whole rule, recycle bin included.
    assert count(Lead, skip_visibility=True) == 3
    assert count(Lead, skip_visibility=True, include_deleted=True) == 3
    assert count(Lead, Lead.name == "Mine", skip_visibility=True) == 1
    # expire: objects read afterwards come from the database again.
    db.session.execute(Lead.__table__.update().where(Lead.__table__.c.id == mine.id).values(name="Renamed"))
    assert count(Lead, Lead.name == "Renamed", expire=True) == 1 and mine.name == "Renamed"
    act_as(None)


@pytest.mark.parametrize("kind", sorted(RECORD_FACTORY_TYPES))
def test_record_factories_create_through_the_service(app, classroom, request, kind):
    """Each record factory makes distinct records through the type's create service, logged as the maker."""
    make = request.getfixturevalue(f"create_{kind}")
    maker = classroom.user("teacher" if kind == "product" else "studentA")
    fields = {"class_id": classroom.classes["A"].id} if kind == "product" else {}
    first, second = make(maker, **fields), make(maker, **fields)
    assert first.id != second.id and type(first).__name__.lower() == kind
    assert first.owner_id == maker.id
    # Through the service: the creation is in the operation log, as the maker.
    created = list(db.session.scalars(select(LogEntry).where(LogEntry.object_id == first.id,
                                                             LogEntry.verb == f"{kind}.create")))
    assert [e.actor_id for e in created] == [maker.id]


def test_make_lead_is_create_lead(make_lead, create_lead, classroom):
    """make_lead, the older name, is the lead factory."""
    assert make_lead is create_lead
    assert make_lead(classroom.user("studentA"), name="Old name").name == "Old name"


def test_run_factory_loads_a_scenario_into_the_class(app, classroom, create_run):
    """create_run loads a scenario into the class and returns its run."""
    run = create_run(classroom.classes["A"], classroom.user("teacher"))
    assert isinstance(run, Run) and run.class_id == classroom.classes["A"].id
    assert count(Lead, Lead.class_id == classroom.classes["A"].id, skip_visibility=True) > 0
    assert len(entries("scenario.load")) == 1


def test_translations_compile_when_missing_or_older(tmp_path):
    """compile_translations compiles a missing or older .mo and leaves an up-to-date one alone."""
    messages = tmp_path / "zh_Hans_CN" / "LC_MESSAGES"
    messages.mkdir(parents=True)
    po = messages / "messages.po"
    shutil.copy(TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po", po)
    assert compile_translations(tmp_path) == [po.with_suffix(".mo")]
    with open(po.with_suffix(".mo"), "rb") as fh:
        assert read_mo(fh).get("Sign in").string == "登录"
    assert compile_translations(tmp_path) == []  # up to date: left alone
    os.utime(po.with_suffix(".mo"), (1, 1))  # older than its catalog: compiled again
    assert compile_translations(tmp_path) == [po.with_suffix(".mo")]
