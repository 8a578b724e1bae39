"""The generated books' values kept per worker (objectives/book_values.py): after edits, transfers, new runs and
late entries, the hints are those of books read afresh, and a visit with nothing changed reads no record table."""

from __future__ import annotations

from typing import Any

from sandbox.classroom.activity.class_log import class_log
from sandbox.classroom.models import Run
from sandbox.classroom.objectives import book_values
from sandbox.classroom.objectives.integrity import find_hints, generated_books, written_values
from sandbox.extensions import db
from sandbox.org.models import utcnow
from sandbox.records.services import transfer_record, update_record
from tests.conftest import act_as
from tests.helpers import statements
from tests.test_class_activity import _current_run_id, make_run, students_of_a


def _hints(classroom: Any) -> list[tuple[Any, ...]]:
    run = db.session.get(Run, _current_run_id(classroom))
    log = class_log(run, students_of_a(classroom))
    return sorted((h.kind, tuple(s.username for s in h.students), tuple(e.entry_id for e in h.evidence),
                   repr(sorted(h.params.items()))) for h in find_hints(log))


def _fresh_hints(classroom: Any) -> list[tuple[Any, ...]]:
    """The hints with nothing kept: every book read again."""
    book_values.forget()
    return _hints(classroom)


def _books_world(classroom: Any, make_lead: Any) -> dict[str, Any]:
    u = classroom.user
    books = {
        "tea": make_lead(u("studentA"), name="Wang Fang", company="Hangzhou Tea Co.", phone="0571-8888 1234"),
        "silk": make_lead(u("peerA"), name="Zhao Lei", company="Suzhou Silk Ltd", phone="0512-6666 5678"),
        "ports": make_lead(u("peerA"), name="Qian Wei", company="Ningbo Ports Group"),
    }
    make_run(classroom, started_at=utcnow(), hours=2)
    make_lead(u("studentA"), name="Someone", company="Suzhou Silk Ltd")  # peerA's company
    act_as(None)
    db.session.commit()
    return books


def test_kept_books_follow_edits_of_generated_records(app, classroom, make_lead):
    u = classroom.user
    books = _books_world(classroom, make_lead)
    book_values.forget()
    first = _hints(classroom)
    assert [h[:2] for h in first if h[0] == "foreign_value"] == [("foreign_value", ("studentA", "peerA"))]

    # peerA renames the company of a generated lead; studentA2 writes the new name, nobody the old one any more.
    act_as(u("peerA"))
    lead = db.session.get(type(books["ports"]), books["ports"].id)
    update_record(lead, {"company": "Zhoushan Fisheries"}, lead.version)
    db.session.commit()
    make_lead(u("studentA2"), name="Other", company="Zhoushan Fisheries")
    make_lead(u("studentA2"), name="Another", company="Ningbo Ports Group")  # the old name is nobody's book now
    act_as(None)
    db.session.commit()

    kept = _hints(classroom)
    assert kept == _fresh_hints(classroom)
    foreign = sorted((h[1], h[3]) for h in kept if h[0] == "foreign_value")
    assert [who for who, _values in foreign] == [("studentA", "peerA"), ("studentA2", "peerA")]
    assert "Zhoushan Fisheries" in foreign[1][1] and "Ningbo Ports" not in foreign[1][1]


def test_kept_books_follow_a_transfer(app, classroom, make_lead):
    u = classroom.user
    books = _books_world(classroom, make_lead)
    book_values.forget()
    _hints(classroom)

    act_as(u("peerA"))
    lead = db.session.get(type(books["silk"]), books["silk"].id)
    transfer_record(lead, u("studentA").id)  # the company is in studentA's own book now
    act_as(None)
    db.session.commit()

    kept = _hints(classroom)
    assert kept == _fresh_hints(classroom)
    assert not [h for h in kept if h[0] == "foreign_value"]


def test_a_visit_with_nothing_changed_reads_no_record_table(app, classroom, make_lead):
    _books_world(classroom, make_lead)
    book_values.forget()
    run = db.session.get(Run, _current_run_id(classroom))
    log = class_log(run, students_of_a(classroom))
    written = written_values(log)
    with statements(app) as cold:
        first = generated_books(log, written)
    with statements(app) as warm:
        again = generated_books(log, written)
    tables = ("FROM leads", "FROM accounts", "FROM contacts", "FROM opportunities")
    assert all(any(t in s for s in cold) for t in tables)
    assert not [s for s in warm if any(t in s for t in tables)], warm
    assert len(warm) <= 2
    assert (again.values, again.records) == (first.values, first.records)


def test_a_new_run_reads_the_books_again(app, classroom, make_lead):
    u = classroom.user
    _books_world(classroom, make_lead)
    book_values.forget()
    _hints(classroom)
    make_lead(u("studentA2"), name="Before the reset", company="Wuxi Textiles")  # in studentA2's next book
    make_run(classroom, started_at=utcnow(), hours=2)
    make_lead(u("studentA"), name="Copy", company="Wuxi Textiles")
    act_as(None)
    db.session.commit()

    kept = _hints(classroom)
    assert kept == _fresh_hints(classroom)
    assert ("foreign_value", ("studentA", "studentA2")) in [h[:2] for h in kept]
