"""A class stays sealed whatever the ids do: ids are never given twice, and a record page reads only the
log entries, notes and attachments of its own class (issue "sealed class" §2; SPEC §4.2)."""

from __future__ import annotations

from sqlalchemy import select, text

from sandbox.classroom.runs.reset_scope import POLYMORPHIC, child_tables, record_tables
from sandbox.classroom.runs.services import load_scenario, reset_scenario, undo_reset
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.records.models import Attachment, Note
from tests.conftest import act_as

SYSTEM = {"skip_visibility": True, "include_deleted": True}
SECRET = "Class A secret: quote 88 percent"


def lead_ids(*where) -> list[int]:
    db.session.expire_all()
    return list(db.session.scalars(select(Lead.id).where(*where).order_by(Lead.id).execution_options(**SYSTEM)))


def test_reset_undo_and_new_records_never_show_another_classes_entry(app, classroom, make_lead):
    a, b = classroom.classes["A"], classroom.classes["B"]
    act_as(classroom.user("teacher"))
    load_scenario(a, "sales-basics")
    db.session.commit()
    make_lead(classroom.user("studentB"), name="B before the reset")
    loaded = lead_ids(Lead.class_id == a.id)
    act_as(classroom.user("teacher"))
    run = reset_scenario(a).run
    db.session.commit()
    replaced = lead_ids(Lead.class_id == a.id)
    assert not set(loaded) & set(replaced), "a reset gave its new records ids of the records it deleted"
    # The teacher writes a note on the first record of the reset run (its id follows the last one left).
    teacher = classroom.client_for(app, "teacher")
    assert teacher.post(f"/leads/{replaced[0]}/notes", data={"body": SECRET}).status_code == 302
    act_as(classroom.user("teacher"))
    undo_reset(a, expected_run_id=run.id)
    db.session.commit()
    assert lead_ids(Lead.class_id == a.id) == loaded
    given = max(replaced)
    student_b = classroom.client_for(app, "studentB")
    new_ids = []
    for n in range(3):
        response = student_b.post("/leads/new", data={"name": f"B after the undo {n}", "status": "new"})
        assert response.status_code == 302
        new_ids.append(int(response.headers["Location"].rsplit("/", 1)[-1]))
    for ident in new_ids:
        for viewer in (student_b, teacher):
            page = viewer.get(f"/leads/{ident}?lang=en").get_data(as_text=True)
            assert "B after the undo" in page and SECRET not in page
    assert min(new_ids) > given, "a new record took an id given before"
    # No entry about a class B record was written in another class.
    stray = db.session.scalars(select(LogEntry).where(LogEntry.object_type == "lead", LogEntry.object_id.in_(new_ids),
                                                      LogEntry.class_id != b.id)).all()
    assert stray == []


def test_a_record_page_reads_only_its_own_classes_entries_notes_and_attachments(app, classroom, make_lead):
    lead = make_lead(classroom.user("studentA"), name="Sealed lead")
    other_class = classroom.classes["B"].id
    # Rows of another class that name this record's id (as if the id had been given twice).
    db.session.add(LogEntry(verb="note.create", object_type="lead", object_id=lead.id, object_label="Sealed lead",
                            class_id=other_class, params={"note": "foreign entry"}))
    act_as(None)
    db.session.add(Note(record_type="lead", record_id=lead.id, class_id=other_class, body="foreign note"))
    db.session.add(Attachment(record_type="lead", record_id=lead.id, class_id=other_class, filename="foreign.pdf",
                              stored_name="f" * 32, size=3, content_type="application/pdf"))
    from sandbox.oplog import operation

    operation("test.forge")(db.session.flush)()
    db.session.commit()
    note = db.session.scalar(select(Note).where(Note.body == "foreign note"))
    att = db.session.scalar(select(Attachment).where(Attachment.filename == "foreign.pdf"))
    for name in ("studentA", "teacher", "admin"):
        client = classroom.client_for(app, name)
        page = client.get(f"/leads/{lead.id}?lang=en").get_data(as_text=True)
        assert "Sealed lead" in page
        assert "foreign entry" not in page and "foreign note" not in page and "foreign.pdf" not in page, name
        assert client.get(f"/leads/{lead.id}/attachments/{att.id}").status_code == 404
    owner = classroom.client_for(app, "studentA")
    assert owner.post(f"/leads/{lead.id}/notes/{note.id}/delete", data={}).status_code == 404
    # Its own note is shown, and knows its class.
    assert owner.post(f"/leads/{lead.id}/notes", data={"body": "own note"}).status_code == 302
    assert "own note" in owner.get(f"/leads/{lead.id}?lang=en").get_data(as_text=True)
    assert db.session.scalar(select(Note.class_id).where(Note.body == "own note")) == lead.class_id


def test_every_table_a_reset_empties_never_gives_an_id_twice(app):
    tables = record_tables()
    tables += child_tables(tables) + list(POLYMORPHIC)
    for name in tables:
        assert db.metadata.tables[name].dialect_options["sqlite"]["autoincrement"], name
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            for name in tables:
                sql = conn.scalar(text("SELECT sql FROM sqlite_master WHERE type='table' AND name=:n"), {"n": name})
                assert "AUTOINCREMENT" in sql, f"{name} may give a deleted row's id again (no AUTOINCREMENT)"


def test_a_student_moved_to_another_class_keeps_the_notes_on_their_records(app, classroom, make_lead):
    from sandbox.org.services import update_user

    lead = make_lead(classroom.user("studentA"), name="Moving lead")
    owner = classroom.client_for(app, "studentA")
    assert owner.post(f"/leads/{lead.id}/notes", data={"body": "travels along"}).status_code == 302
    student = classroom.user("studentA")
    act_as(classroom.user("teacher"))
    update_user(classroom.user("teacher"), student, display_name=student.display_name, email=student.email,
                role=student.role, position=classroom.positions["B1"], status=student.status)
    db.session.commit()
    act_as(None)
    assert db.session.scalar(select(Note.class_id).where(Note.body == "travels along")) == classroom.classes["B"].id
    page = classroom.client_for(app, "studentA").get(f"/leads/{lead.id}?lang=en").get_data(as_text=True)
    assert "Moving lead" in page and "travels along" in page


def test_a_reset_gives_each_table_consecutive_ids_after_the_highest_ever_given(app, classroom):
    # The loader asks the database where a table's ids go on once per load, then keeps counting across the
    # parts (loader.allocate_ids's `following`): the ids must still be exactly the next ones, part after part.
    a = classroom.classes["A"]
    act_as(classroom.user("teacher"))
    load_scenario(a, "sales-basics")
    db.session.commit()
    sqlite = db.session.connection().dialect.name == "sqlite"
    tables = ("accounts", "contacts", "leads", "opportunities", "activities")
    if sqlite:
        given = dict(db.session.execute(text("SELECT name, seq FROM sqlite_sequence")).tuples().all())
    else:
        given = {name: db.session.scalar(text(f"SELECT max(id) FROM {name}")) for name in tables}
    act_as(classroom.user("teacher"))
    reset_scenario(a)
    db.session.commit()
    for name in tables:
        ids = list(db.session.scalars(text(f"SELECT id FROM {name} WHERE class_id = :c ORDER BY id"), {"c": a.id}))
        assert ids and ids == list(range(ids[0], ids[0] + len(ids))), name
        if sqlite:
            assert ids[0] == given[name] + 1, name
        else:
            assert ids[0] > given[name], name


def test_allocated_ids_follow_on_across_the_parts_of_one_load(app):
    from sandbox.classroom.runs.loader import allocate_ids

    table = db.metadata.tables["leads"]
    conn = db.session.connection()
    following: dict[str, int] = {}
    first = allocate_ids(conn, table, 3, following)
    second = allocate_ids(conn, table, 2, following)
    assert len(set(first + second)) == 5 and min(second) > max(first)
    if conn.dialect.name == "sqlite":
        assert first + second == list(range(first[0], first[0] + 5)) and following == {"leads": first[0] + 5}


def test_a_reference_to_a_key_neither_generated_nor_known_is_refused_before_any_insert(app):
    import pytest

    from sandbox.classroom.runs.loader import Batch, LoadError, insert_rows

    conn = db.session.connection()
    book = {"contacts": Batch(["name", "account_id", "id"], [["Ann", "account:gone", None]], [(1, "account_ref")],
                              ["contact:ann"])}
    before = conn.scalar(text("SELECT count(*) FROM contacts"))
    with pytest.raises(LoadError, match="account_ref points at 'account:gone'"):
        insert_rows(conn, book, known={"account:other": 1})
    assert conn.scalar(text("SELECT count(*) FROM contacts")) == before
