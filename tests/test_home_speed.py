"""The cheaper reading paths of the dashboard, progress, knowledge base and the instructor's pages give the same
answers as the full ones (issue 9: a page must cost the server far less CPU; nothing visible changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.classroom.activity.class_log import class_log
from sandbox.classroom.models import Run
from sandbox.classroom.objectives.integrity import (
    find_hints,
    foreign_values,
    generated_books,
    normalise,
    same_texts,
    written_values,
)
from sandbox.extensions import db
from sandbox.oplog import operation
from sandbox.org.models import utcnow
from sandbox.records.services import update_record
from tests.conftest import act_as
from tests.helpers import statements
from tests.test_class_activity import _current_run_id, make_run, students_of_a


def _hint_keys(hints: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((h.kind, tuple(s.username for s in h.students), tuple(e.entry_id for e in h.evidence),
                   repr(sorted(h.params.items()))) for h in hints)


def _copying_world(classroom: Any, make_lead: Any) -> Run:
    u = classroom.user
    make_lead(u("studentA"), name="Wang Fang", company="Hangzhou Tea Co.", phone="0571-8888 1234",
              description="A long description of the tea trade in Hangzhou")
    make_lead(u("peerA"), name="Zhao Lei", company="Suzhou Silk Ltd", phone="0512-6666 5678",
              email="zhao.lei@suzhousilk.cn", website="https://www.suzhousilk.cn/")
    make_run(classroom, started_at=utcnow(), hours=2)
    make_lead(u("studentA"), name="Zhao Lei", company="SUZHOU  silk ltd")  # peerA's, retyped
    make_lead(u("studentA2"), name="Other", description="a long description of the TEA trade in hangzhou")
    own = make_lead(u("peerA"), name="Li Na", company="Ningbo Ports")
    act_as(u("peerA"))
    update_record(own, {"phone": "0571 88881234", "website": "suzhousilk.cn"}, own.version)
    db.session.commit()
    act_as(None)
    return db.session.get(Run, _current_run_id(classroom))


def test_the_books_read_for_the_written_values_give_the_hints_of_the_whole_books(app, classroom, make_lead):
    """Only the written values' holders and the acted-on records are read: the hints are those of the full books."""
    run = _copying_world(classroom, make_lead)
    log = class_log(run, students_of_a(classroom))
    full = generated_books(log)  # every value of every book, as before
    written = written_values(log)
    asked = generated_books(log, written)

    expected = foreign_values(log, full) + same_texts(log, full)
    assert _hint_keys(foreign_values(log, asked, written) + same_texts(log, asked, written)) == _hint_keys(expected)
    assert {h.kind for h in expected} == {"foreign_value"}
    # Every holder of a written key is known, and nothing else is kept.
    for _row, kind, _raw, key in written:
        assert asked.holders(kind, key) == full.holders(kind, key)
    assert {(k, key) for k, keys in asked.values.items() for key in keys} <= {(k, key) for _r, k, _v, key in written}
    assert asked.records == {r: o for r, o in full.records.items() if r in {(x.object_type, x.object_id)
                                                                              for x in log.rows}}
    assert _hint_keys([h for h in find_hints(log) if h.kind in ("foreign_value", "same_text")]) == _hint_keys(expected)


def test_no_written_value_reads_no_book(app, classroom, make_lead):
    u = classroom.user
    make_lead(u("studentA"), name="Wang Fang", company="Hangzhou Tea Co.")
    run = make_run(classroom, started_at=utcnow(), hours=2)
    log = class_log(db.session.get(Run, run.id), students_of_a(classroom))
    with statements(app) as seen:
        books = generated_books(log, [])
    assert seen == [] and not books.values and not books.records


def test_phone_numbers_normalise_as_before():
    """The ASCII fast path keeps the digits exactly as str.isdigit does; other scripts take the slow path."""
    for raw in ("+86 (0571) 8888-1234", "0571 88881234", "12-34", "tel: ５５５１２３４５６７", "٠١٢٣٤٥٦٧٨٩", "x²³⁴5678"):
        digits = "".join(ch for ch in raw if ch.isdigit())
        assert normalise("phone", raw) == (digits[-11:] if len(digits) >= 7 else None)


# ---- the gradebook's rows, drawn in Python ----------------------------------------------------------------------

# The row as templates/classroom/gradebook.html drew it before rows.py (kept here to prove the same bytes).
OLD_ROWS = (Path(__file__).parent / "fixtures_gradebook_rows_before.jinja").read_text(encoding="utf-8")

NASTY = '<script>alert("x")</script> & Co'


def _nasty_gradebook(app: Any, classroom: Any) -> Run:
    from datetime import timedelta

    from sandbox.classroom.models import DeadlineExtension, GradeOverride
    from tests.test_gradebook_pages import load, work

    run = load(classroom)
    work(classroom, "studentA", calls=3, converts=1)
    student, teacher = classroom.user("studentA"), classroom.user("teacher")

    @operation("test.nasty_names")
    def setup() -> None:
        student.display_name, student.student_number = NASTY, "<b>07</b>"
        db.session.add(GradeOverride(run_id=run.id, student_id=student.id, objective_id="log-calls", points=7,
                                     comment=NASTY, set_by_id=teacher.id, set_at=utcnow()))
        db.session.add(DeadlineExtension(run_id=run.id, student_id=classroom.user("peerA").id,
                                         deadline=run.deadline + timedelta(days=2), reason="ill",
                                         granted_by_id=teacher.id))

    act_as(teacher)
    setup()
    db.session.commit()
    act_as(None)
    return run


def test_gradebook_rows_are_the_templates_bytes_and_escape_user_text(app, classroom):
    from sandbox.classroom.grading.gradebook import gradebook
    from sandbox.classroom.grading.rows import averages, gradebook_rows
    from sandbox.classroom.grading.view import TEMPLATE_HELPERS

    run = _nasty_gradebook(app, classroom)
    for language in ("en", "zh"):
        with app.test_request_context("/grading/", headers={"Accept-Language": language}):
            act_as(classroom.user("teacher"))
            book = gradebook(db.session.get(Run, run.id))
            book.without_book = {classroom.user("peerA").id}
            drawn = "".join(f"\n  \n  {html}\n  " for html in gradebook_rows(book))
            old = app.jinja_env.from_string(OLD_ROWS).render(rows=book.rows, book=book, run=book.class_run,
                                                               **TEMPLATE_HELPERS)
            assert drawn == old
            per_objective, total = averages(book)
            assert total == sum((r.total for r in book.rows), 0) / len(book.rows)
            assert len(per_objective) == len(book.objectives)
    page = classroom.client_for(app, "teacher").get("/grading/").get_data(as_text=True)
    assert "<script>alert" not in page and "<b>07" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page  # the name and the comment
    assert "Set by the teacher: &lt;script&gt;" in page and "&lt;b&gt;07&lt;/b&gt;" in page


# ---- the instructor's home: when each student last acted, from the log's times only ------------------------------

def test_the_times_only_class_log_gives_the_same_last_actions(app, classroom):
    from datetime import timedelta

    from sandbox.classroom.activity.class_log import inactive_students
    from tests.test_class_activity import at, entry

    students = students_of_a(classroom)
    run = make_run(classroom)
    for i in range(40):  # requests of one and of several entries, interleaved across students
        student = students[i % len(students)]
        for j in range(1 + i % 3):
            entry(student, at(i * 0.7) + timedelta(milliseconds=j), run, request_id=f"r{i}",
                  changes={"fields": {"description": [None, f"text {i}"]}})
    db.session.commit()
    students, run = students_of_a(classroom), db.session.get(Run, run.id)
    full, light = class_log(run, students), class_log(run, students, times_only=True)
    assert {s: [a.at for a in acts] for s, acts in light.actions.items()} == {
        s: [a.at for a in acts] for s, acts in full.actions.items()}
    assert light.rows == [] and len(full.rows) > 40
    now = at(40)
    assert inactive_students(run, students, 15, now=now, log=light) == inactive_students(run, students, 15, now=now,
                                                                                          log=full)


def test_gradebook_and_activity_cost_the_same_queries_for_more_students(app, classroom):
    """Batch per class: more students add no statement to the gradebook, the class activity or the progress page."""
    from sandbox.org.models import Role
    from sandbox.org.services import create_user
    from tests.test_gradebook_pages import load, work

    load(classroom)
    work(classroom, "studentA", calls=2, converts=1)
    teacher, student = classroom.client_for(app, "teacher"), classroom.client_for(app, "studentA")
    pages = [(teacher, "/grading/"), (teacher, "/grading/activity"), (teacher, "/"), (student, "/me/progress")]

    def counts() -> list[int]:
        found = []
        for client, url in pages:
            client.get(url)  # the first view after a change scores again what changed (the kept gradebook)
            with statements(app) as seen:
                assert client.get(url).status_code == 200
            # The gradebook's probe for students without a generated book (runs/books.py) reads on until it has
            # found everyone's: the students added below have none, which the page flags. Not a per-student cost.
            found.append(len([sql for sql in seen if not sql.startswith("SELECT DISTINCT")]))
        return found

    before = counts()
    act_as(None)
    for i in range(8):
        create_user(None, f"more{i}", f"More {i}", "pw-123456", Role.STUDENT, classroom.positions["A2"])
    db.session.commit()
    assert counts() == before
