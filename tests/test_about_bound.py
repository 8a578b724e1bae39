"""Statements about one record built once per process (records/about.py) read what `access.about_record` reads:
the record's own rows, of its class (or, for a record of no class, of none), never another class's."""

from __future__ import annotations

from sqlalchemy import insert, select

from sandbox.access import about_record
from sandbox.extensions import db
from sandbox.oplog import LogEntry
from sandbox.records import notes
from sandbox.records.about import about, about_params
from sandbox.records.models import Note


def _ids(where: object, params: dict | None = None) -> set[int]:
    stmt = select(LogEntry.id).where(where).execution_options(skip_visibility=True)  # type: ignore[arg-type]
    return set(db.session.scalars(stmt, params or {}))


def test_the_bound_rule_reads_the_record_s_rows_of_its_class_only(app, classroom, make_lead):
    mine = make_lead(classroom.user("studentA"))
    classless = make_lead(classroom.user("teacher"))
    assert mine.class_id is not None and classless.class_id is None
    for obj in (mine, classless):
        want = _ids(about_record(obj, LogEntry.object_type, LogEntry.object_id, LogEntry.class_id))
        bound = about(obj.class_id is None, LogEntry.object_type, LogEntry.object_id, LogEntry.class_id)
        assert want and _ids(bound, about_params(obj)) == want
    # A note naming the record's type and id from another class (or of no class) is not the record's.
    other = classroom.classes["B"].id
    assert notes.present(mine) == (False, False) and notes.present(classless) == (False, False)
    for obj, class_id in ((mine, other), (mine, None), (classless, other)):
        db.session.execute(insert(Note).values(record_type="lead", record_id=obj.id, class_id=class_id, body="x"))
    assert notes.present(mine) == (False, False) and notes.present(classless) == (False, False)
    for obj in (mine, classless):
        db.session.execute(insert(Note).values(record_type="lead", record_id=obj.id, class_id=obj.class_id, body="y"))
    assert notes.present(mine) == (True, False) and notes.present(classless) == (True, False)
