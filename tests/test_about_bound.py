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


def test_a_record_page_reads_its_timeline_with_its_notes_and_attachments(app, classroom, make_lead):
    """The record page's timeline and whether it has notes and attachments come from one statement: a record the
    log names nowhere (generated data) still shows its notes and attachments, a logged one its entries with
    them; another class's note on the same type and id shows on neither."""
    from sandbox.leads.models import Lead
    from sandbox.records.models import Attachment
    from tests.helpers import statements

    owner = classroom.user("studentA")
    logged = make_lead(owner, name="Logged lead")
    quiet = db.session.execute(insert(Lead).values(  # as a scenario's books write them: no log entry
        name="Quiet lead", owner_id=owner.id, class_id=owner.class_id, status="new").returning(Lead.id)).scalar_one()
    other = classroom.classes["B"].id
    for record_id in (logged.id, quiet):
        db.session.execute(insert(Note).values(record_type="lead", record_id=record_id, class_id=other,
                                               body=f"Foreign note {record_id}"))
    db.session.execute(insert(Note).values(record_type="lead", record_id=quiet, class_id=owner.class_id,
                                           body="Note on the quiet lead"))
    db.session.execute(insert(Attachment).values(
        record_type="lead", record_id=logged.id, class_id=owner.class_id, filename="offer-for-logged.pdf",
        stored_name="x" * 32, size=3, content_type="application/pdf"))
    db.session.commit()
    client = classroom.client_for(app, "studentA")
    with statements(app) as seen:
        page = client.get(f"/leads/{quiet}?lang=en").get_data(as_text=True)
    assert "Note on the quiet lead" in page and "Foreign note" not in page
    assert "offer-for-logged.pdf" not in page
    assert not [s for s in seen if s.lstrip().startswith("SELECT EXISTS")], "notes and attachments read apart"
    page = client.get(f"/leads/{logged.id}?lang=en").get_data(as_text=True)
    assert "offer-for-logged.pdf" in page and "Foreign note" not in page and "Note on the quiet lead" not in page
    assert "created lead Logged lead" in page  # its timeline
