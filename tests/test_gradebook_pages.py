"""Gradebook pages, the student's progress page and grade exports (issue 4; SPEC §8.5–8.6, §11).

A class run is loaded with the real loader (Sales basics), the student works through the real services,
and the pages are read through the test client as teacher, observer, other instructor and student.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from sandbox.activities.services import log_call
from sandbox.classroom.models import DeadlineExtension, GradeOverride, Run
from sandbox.classroom.runs.services import load_scenario, undo_reset
from sandbox.extensions import db
from sandbox.leads.conversion import ConversionRequest, convert_lead
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry
from sandbox.org.models import Role, User, utcnow
from tests import helpers
from tests.conftest import PASSWORD, act_as, login

SYSTEM = {"skip_visibility": True}


def load(classroom, klass: str = "A") -> Run:
    act_as(classroom.user("teacher"))
    run = load_scenario(classroom.classes[klass], "sales-basics").run
    db.session.commit()
    act_as(None)
    return run


def leads_of(user: User, n: int) -> list[Lead]:
    db.session.expire_all()
    return list(db.session.scalars(select(Lead).where(Lead.owner_id == user.id, Lead.status != "converted")
                                   .order_by(Lead.id).limit(n).execution_options(**SYSTEM)))


def work(classroom, name: str = "studentA", calls: int = 5, converts: int = 1) -> None:
    """Real work as the student: calls logged on their leads, leads converted (a call first on each)."""
    student = classroom.user(name)
    leads = leads_of(student, max(calls, converts))
    act_as(student)
    for i in range(calls):
        log_call(leads[i % len(leads)])
        db.session.commit()
    for lead in leads[:converts]:
        convert_lead(db.session.get(Lead, lead.id), ConversionRequest(account_mode="new"))
        db.session.commit()
    act_as(None)


def row_html(page: str, username: str) -> str:
    match = re.search(rf'<tr data-student="{username}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {username}"
    return match.group(1)


def cell(page: str, username: str, objective: str) -> str:
    """The points shown in one gradebook cell."""
    match = re.search(rf'data-objective="{objective}"><span [^>]*>([^<]*)</span>', row_html(page, username), re.S)
    assert match, f"no cell {objective} for {username}"
    return match.group(1).strip()


def order(page: str) -> list[str]:
    return re.findall(r'<tr data-student="([^"]+)">', page)


count = partial(helpers.count, expire=True)


@pytest.fixture
def graded(app, classroom):
    """Class A runs Sales basics; studentA logged 5 calls and converted a lead; peerA logged 2 calls."""
    run = load(classroom)
    work(classroom, "studentA", calls=5, converts=1)
    work(classroom, "peerA", calls=2, converts=0)
    return run


# -- the gradebook ----------------------------------------------------------------------------------------------------

def test_gradebook_shows_points_partial_credit_and_totals(app, classroom, graded):
    teacher = classroom.client_for(app, "teacher")
    page = teacher.get(f"/grading/?class_id={classroom.classes['A'].id}").get_data(as_text=True)
    assert cell(page, "studentA", "log-calls") == "10"  # 5 of 5 calls
    assert cell(page, "studentA", "convert-leads") == "5"  # 1 of 3 conversions: partial credit
    assert cell(page, "studentA", "call-before-convert") == "10"
    assert cell(page, "peerA", "log-calls") == "4"  # 2 of 5
    assert cell(page, "studentA2", "log-calls") == "0"
    assert re.search(r'data-testid="total">25\b', row_html(page, "studentA"))
    assert "/ 100 pts" in page and "Sales basics" in page
    # Each student links to their evidence page; the exports keep the view's query.
    assert f'/grading/students/{classroom.user("studentA").id}?run={graded.id}' in page
    assert "/grading/export.csv?class_id=" in page and "/grading/export.xlsx?class_id=" in page
    # The default class is the instructor's first class: the same page without class_id.
    assert cell(teacher.get("/grading/").get_data(as_text=True), "studentA", "log-calls") == "10"


def test_sort_and_department_filter(app, classroom, graded):
    teacher = classroom.client_for(app, "teacher")
    base = f"/grading/?class_id={classroom.classes['A'].id}"
    assert order(teacher.get(f"{base}&sort=total&desc=1").get_data(as_text=True))[:2] == ["studentA", "peerA"]
    assert order(teacher.get(f"{base}&sort=total").get_data(as_text=True))[-1] == "studentA"
    by_calls = order(teacher.get(f"{base}&sort=log-calls&desc=1").get_data(as_text=True))
    assert by_calls[:2] == ["studentA", "peerA"]
    names = order(teacher.get(f"{base}&sort=name").get_data(as_text=True))
    assert names == sorted(names, key=lambda n: classroom.user(n).display_name.casefold())
    assert order(teacher.get(f"{base}&sort=name&desc=1").get_data(as_text=True)) == list(reversed(names))
    a2 = classroom.departments["A2"].id
    page = teacher.get(f"{base}&department={a2}").get_data(as_text=True)
    assert order(page) == ["studentA2"]
    a1 = order(teacher.get(f"{base}&department={classroom.departments['A1'].id}").get_data(as_text=True))
    assert set(a1) == {"managerA", "studentA", "peerA"}


@pytest.mark.parametrize("query", [
    "class_id=abc", "run=xyz", "run=999999", "department=zzz", "department=999999", "sort=bogus", "sort=",
    "desc=maybe", "class_id=&run=&department=", "run=-1&sort=%00&department=%27",
])
def test_bad_query_values_give_a_message_never_a_500(app, classroom, graded, query):
    teacher = classroom.client_for(app, "teacher")
    response = teacher.get(f"/grading/?{query}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="gradebook"' in page
    if query not in ("sort=", "desc=maybe", "class_id=&run=&department="):
        assert 'data-testid="problem"' in page
    for export in ("/grading/export.csv", "/grading/export.xlsx"):
        assert teacher.post(f"{export}?{query}").status_code == 200


def test_who_reads_the_gradebook(app, classroom, graded):
    a, c = classroom.classes["A"].id, classroom.classes["C"].id
    student = classroom.client_for(app, "studentA")
    for path in ("/grading/", f"/grading/?class_id={a}", f"/grading/students/{classroom.user('studentA').id}"):
        assert student.get(path).status_code == 403, path
    for path in ("/grading/export.csv", "/grading/export.xlsx"):
        assert student.post(path).status_code == 403, path
    observer = classroom.client_for(app, "readonlyA")
    assert cell(observer.get("/grading/").get_data(as_text=True), "studentA", "log-calls") == "10"
    assert observer.get(f"/grading/?class_id={c}").status_code == 404
    teacher = classroom.client_for(app, "teacher")
    assert teacher.get(f"/grading/?class_id={c}").status_code == 404
    assert teacher.get(f"/grading/students/{classroom.user('studentC').id}").status_code == 404
    teacher2 = classroom.client_for(app, "teacher2")
    assert teacher2.get(f"/grading/?class_id={a}").status_code == 404
    assert teacher2.get(f"/grading/students/{classroom.user('studentA').id}").status_code == 404
    assert teacher2.post(f"/grading/export.csv?class_id={a}").status_code == 404
    assert 'data-testid="no-run"' in teacher2.get("/grading/").get_data(as_text=True)  # class C has no run


def test_class_without_a_run_and_user_without_a_class(app, classroom):
    teacher = classroom.client_for(app, "teacher")
    page = teacher.get(f"/grading/?class_id={classroom.classes['B'].id}").get_data(as_text=True)
    assert 'data-testid="no-run"' in page
    if "scenarios.index" in app.view_functions:
        assert 'href="/scenarios/?class_id=' in page
    export = teacher.post(f"/grading/export.csv?class_id={classroom.classes['B'].id}")
    assert export.status_code == 302 and "/grading/" in export.headers["Location"]
    act_as(None)
    from sandbox.org.services import create_position, create_user

    node = create_position(None, classroom.root, "teacher", "Teacher Zhao")
    create_user(None, "lonely", "Lonely Teacher", PASSWORD, Role.INSTRUCTOR, node)
    db.session.commit()
    lonely = app.test_client()
    assert login(lonely, "lonely").status_code == 302
    page = lonely.get("/grading/").get_data(as_text=True)
    assert 'data-testid="no-class"' in page


def test_run_selector_lists_older_and_undone_runs(app, classroom, graded):
    first = graded
    second = load(classroom)  # a second load: a new class run; the first one's grades stay readable
    act_as(classroom.user("teacher"))
    third = load_scenario(classroom.classes["A"], "sales-basics").run
    db.session.commit()
    undo_reset(classroom.classes["A"], expected_run_id=third.id)
    db.session.commit()
    act_as(None)
    teacher = classroom.client_for(app, "teacher")
    base = f"/grading/?class_id={classroom.classes['A'].id}"
    page = teacher.get(base).get_data(as_text=True)
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', page.split('data-testid="run-select"')[1])
    ids = [int(i) for i, _label in options]
    assert ids[:3] == [third.id, second.id, first.id]
    labels = dict((int(i), label) for i, label in options)
    assert "undone" in labels[third.id] and "undone" not in labels[first.id]
    assert re.search(rf'<option value="{second.id}" selected', page)  # the run in force, not the undone one
    assert cell(page, "studentA", "log-calls") == "0"  # nothing done in the new run yet
    old = teacher.get(f"{base}&run={first.id}").get_data(as_text=True)
    assert cell(old, "studentA", "log-calls") == "10"
    undone = teacher.get(f"{base}&run={third.id}").get_data(as_text=True)
    assert "This run was undone" in undone


# -- one student's evidence, overrides, extensions --------------------------------------------------------------------

def test_evidence_page_lists_entries_records_and_timeline(app, classroom, graded):
    student = classroom.user("studentA")
    teacher = classroom.client_for(app, "teacher")
    page = teacher.get(f"/grading/students/{student.id}").get_data(as_text=True)
    calls = page.split('id="objective-log-calls"')[1].split('class="card shadow-sm mb-3 objective-card"')[0]
    assert len(re.findall(r"<li>", calls.split('data-testid="evidence"')[1].split("</ul>")[0])) == 5
    lead_ids = {lead.id for lead in leads_of(student, 0)} | {e.object_id for e in db.session.scalars(
        select(LogEntry).where(LogEntry.verb == "lead.convert", LogEntry.actor_id == student.id))}
    linked = {int(i) for i in re.findall(r'href="/(?:leads|activities)/(\d+)"', calls)}
    assert linked  # the entries link to their records
    convert = page.split('id="objective-convert-leads"')[1].split("objective-card")[0]
    assert "1 of 3 leads converted" in convert and re.search(r'href="/leads/(\d+)"', convert)
    assert int(re.search(r'href="/leads/(\d+)"', convert).group(1)) in lead_ids
    timeline = page.split('data-testid="timeline"')[1].split("</ul>")[0]
    # Actions read as labels, never verb codes; evidence kinds are translated badges.
    assert timeline.count("<li") >= 6 and "Activity · log a call" in timeline and "Lead · convert" in timeline
    assert "activity.log_call" not in timeline
    assert 'data-kind="lead">Lead</span>' in convert
    assert 'data-testid="override-form"' in page and 'data-testid="extension-form"' in page
    assert "10 / 10" in page
    # An observer reads the same evidence, without forms.
    observer = classroom.client_for(app, "readonlyA").get(f"/grading/students/{student.id}").get_data(as_text=True)
    assert "1 of 3 leads converted" in observer and "override-form" not in observer and "extension-form" not in observer


def test_override_through_the_form_changes_the_points_and_is_logged(app, classroom, graded):
    student = classroom.user("studentA")
    teacher = classroom.client_for(app, "teacher")
    url = f"/grading/students/{student.id}/override"
    response = teacher.post(url, data={"run": graded.id, "objective_id": "visit-notes", "points": "8.5",
                                       "comment": "Clear needs and next step."})
    assert response.status_code == 302 and "#objective-visit-notes" in response.headers["Location"]
    page = teacher.get(f"/grading/?class_id={classroom.classes['A'].id}").get_data(as_text=True)
    assert cell(page, "studentA", "visit-notes") == "8.5"
    assert "Set by the teacher: Clear needs and next step." in row_html(page, "studentA")
    entry = db.session.scalar(select(LogEntry).where(LogEntry.verb == "grade.override"))
    assert entry.actor_id == classroom.user("teacher").id and entry.as_teacher and entry.run_id == graded.id
    assert entry.params["objective"] == "visit-notes" and entry.params["points"] == "8.50"
    # The student reads the teacher's comment on their checklist.
    progress = classroom.client_for(app, "studentA").get("/me/progress").get_data(as_text=True)
    assert "Clear needs and next step." in progress
    # Clearing it brings back the automatic points (0 for a manual item).
    cleared = teacher.post(f"/grading/students/{student.id}/clear-override",
                           data={"run": graded.id, "objective_id": "visit-notes"})
    assert cleared.status_code == 302
    assert count(GradeOverride) == 0
    assert cell(teacher.get("/grading/").get_data(as_text=True), "studentA", "visit-notes") == "0"
    assert count(LogEntry, LogEntry.verb == "grade.clear_override") == 1


@pytest.mark.parametrize("data, field, message", [
    ({"points": "50", "comment": "Great"}, "points", "Give between 0 and 10 points"),
    ({"points": "lots", "comment": "Great"}, "points", "Enter the points as a number"),
    ({"points": "7", "comment": "  "}, "comment", "Add a comment"),
    ({"points": "-1", "comment": "x"}, "points", "Give between 0 and 10 points"),
])
def test_bad_override_is_shown_next_to_the_field_and_changes_nothing(app, classroom, graded, data, field, message):
    student = classroom.user("studentA")
    teacher = classroom.client_for(app, "teacher")
    before = count(LogEntry)
    response = teacher.post(f"/grading/students/{student.id}/override",
                            data={"run": graded.id, "objective_id": "visit-notes", **data})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    form = page.split('id="objective-visit-notes"')[1].split("objective-card")[0]
    assert message in form and "is-invalid" in form
    assert f'value="{data["points"]}"' in form  # what the teacher typed is kept
    if data["comment"].strip():
        assert data["comment"] in form
    assert count(GradeOverride) == 0 and count(LogEntry) == before


def test_override_of_an_unknown_objective_or_run(app, classroom, graded):
    student = classroom.user("studentA")
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post(f"/grading/students/{student.id}/override",
                            data={"run": graded.id, "objective_id": "nope", "points": "1", "comment": "x"})
    assert response.status_code == 400 and "has no objective" in response.get_data(as_text=True)
    response = teacher.post(f"/grading/students/{student.id}/override",
                            data={"run": "999999", "objective_id": "visit-notes", "points": "1", "comment": "x"})
    assert response.status_code == 302
    assert "does not exist" in teacher.get(response.headers["Location"]).get_data(as_text=True)
    assert count(GradeOverride) == 0


def test_deadline_extension_through_the_form(app, classroom, graded):
    student = classroom.user("studentA")
    teacher = classroom.client_for(app, "teacher")
    url = f"/grading/students/{student.id}/extension"
    later = (graded.deadline + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = teacher.post(url, data={"run": graded.id, "deadline": later, "reason": "Ill for three days"})
    assert response.status_code == 302
    extension = db.session.scalar(select(DeadlineExtension))
    assert extension.student_id == student.id and extension.reason == "Ill for three days"
    page = teacher.get(f"/grading/students/{student.id}").get_data(as_text=True)
    assert "Ill for three days" in page and "extended" in page
    assert count(LogEntry, LogEntry.verb == "grade.extend_deadline") == 1
    progress = classroom.client_for(app, "studentA").get("/me/progress").get_data(as_text=True)
    assert "extended for you" in progress
    # A deadline before the run started, or no date at all: a message next to the field, nothing changes.
    for bad in ((graded.started_at - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"), "", "next week"):
        response = teacher.post(url, data={"run": graded.id, "deadline": bad, "reason": "again"})
        assert response.status_code == 400, bad
        form = response.get_data(as_text=True).split('data-testid="extension-form"')[1].split("</form>")[0]
        assert "is-invalid" in form and 'value="again"' in form
    db.session.expire_all()
    assert db.session.scalar(select(DeadlineExtension)).reason == "Ill for three days"


def test_grading_actions_are_refused_to_others(app, classroom, graded):
    student = classroom.user("studentA")
    data = {"run": graded.id, "objective_id": "visit-notes", "points": "5", "comment": "x",
            "deadline": "2031-01-01T10:00"}
    expected = {"studentA": 403, "readonlyA": 403, "teacher2": 404, "managerA": 403}
    for persona, status in expected.items():
        client = classroom.client_for(app, persona)
        for action in ("override", "clear-override", "extension"):
            assert client.post(f"/grading/students/{student.id}/{action}", data=data).status_code == status, \
                (persona, action)
        # Observers are refused the same way for a missing student (nothing leaks by the status).
        assert client.post("/grading/students/999999/override", data=data).status_code == (
            404 if persona == "teacher2" else 403)
    teacher = classroom.client_for(app, "teacher")
    assert teacher.post(f"/grading/students/{classroom.user('studentC').id}/override", data=data).status_code == 404
    assert teacher.post(f"/grading/students/{classroom.user('teacher').id}/override", data=data).status_code == 404
    assert count(GradeOverride) == 0 and count(DeadlineExtension) == 0


# -- the student's checklist -------------------------------------------------------------------------------------------

def test_student_sees_ticks_partial_and_reasons(app, classroom, graded):
    client = classroom.client_for(app, "studentA")
    page = client.get("/me/progress").get_data(as_text=True)
    assert 'data-objective="log-calls" data-state="done"' in page
    assert 'data-objective="convert-leads" data-state="partial"' in page
    assert 'data-objective="first-won-deal" data-state="todo"' in page
    assert "1 of 3 leads converted; 2 more needed" in page
    assert "Sales basics: from lead to first order" in page and "Hangzhou Longwu Tea" in page
    assert "Use “Log a call” on a lead or account page." not in page  # no hint once done
    assert 'data-testid="my-total">25' in page and "left" in page
    assert 'data-refresh="60"' in page and "js/progress.js" in page
    # Updated as they work: one more conversion shows on the next load.
    work(classroom, "studentA", calls=0, converts=1)
    page = client.get("/me/progress").get_data(as_text=True)
    assert "2 of 3 leads converted; 1 more needed" in page


def test_progress_page_for_others(app, classroom, graded):
    for persona in ("teacher", "readonlyA", "admin"):
        page = classroom.client_for(app, persona).get("/me/progress").get_data(as_text=True)
        assert 'data-testid="not-student"' in page and 'href="/grading/"' in page
    page = classroom.client_for(app, "studentB").get("/me/progress").get_data(as_text=True)
    assert "Your teacher has not loaded a scenario yet." in page


def test_progress_after_the_deadline_stops_refreshing(app, classroom, graded):
    from tests.test_objectives import set_deadline

    set_deadline(graded, utcnow() - timedelta(minutes=5))
    page = classroom.client_for(app, "studentA").get("/me/progress").get_data(as_text=True)
    assert "The deadline passed" in page and 'data-refresh="0"' in page and "js/progress.js" not in page


def test_navigation_links_by_role(app, classroom, graded):
    student = classroom.client_for(app, "studentA").get("/").get_data(as_text=True)
    assert 'href="/me/progress"' in student and 'href="/grading/"' not in student
    teacher = classroom.client_for(app, "teacher").get("/").get_data(as_text=True)
    assert 'href="/grading/"' in teacher and 'href="/me/progress"' not in teacher
    assert 'href="/scenarios/"' in teacher and 'href="/grading/activity"' in teacher  # in the Classroom menu
    observer = classroom.client_for(app, "readonlyA").get("/").get_data(as_text=True)
    assert 'href="/grading/"' in observer and 'href="/scenarios/"' not in observer


# -- exports -----------------------------------------------------------------------------------------------------------

@pytest.fixture
def formula_student(app, classroom):
    """A class-A student whose name is a spreadsheet formula (created before the load, so they get a book)."""
    from sandbox.org.services import create_user

    act_as(None)
    user = create_user(None, "evil", "=HYPERLINK(\"http://x\")", PASSWORD, Role.STUDENT, classroom.positions["A2"],
                       student_number="+2024001")
    db.session.commit()
    return user


def test_csv_export_has_the_points_and_escapes_formulas(app, classroom, formula_student, graded):
    teacher = classroom.client_for(app, "teacher")
    response = teacher.post(f"/grading/export.csv?class_id={classroom.classes['A'].id}&sort=total&desc=1")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert re.match(r"attachment; filename=grades-sales-basics-run\d+-\d{8}-\d{4}\.csv$",
                    response.headers["Content-Disposition"])
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    head = table[0]
    assert head[:4] == ["Username", "Name", "Student number", "Department"] and head[-2:] == ["Total", "Max"]
    assert "Reach out: log 5 calls (10)" in head and len(head) == 4 + 9 + 2
    first = dict(zip(head, table[1], strict=True))
    assert first["Username"] == "studentA" and first["Reach out: log 5 calls (10)"] == "10"
    assert first["Convert 3 leads (15)"] == "5" and first["Total"] == "25" and first["Max"] == "100"
    evil = next(dict(zip(head, r, strict=True)) for r in table[1:] if r[0] == "evil")
    assert evil["Name"] == "'=HYPERLINK(\"http://x\")" and evil["Student number"] == "'+2024001"
    assert len(table) == 1 + 5  # every student of class A
    entry = db.session.scalar(select(LogEntry).where(LogEntry.verb == "grade.export"))
    assert entry.actor_id == classroom.user("teacher").id and entry.params == {"count": 5, "format": "csv"}
    # The department filter applies to the file too.
    a2 = teacher.post(f"/grading/export.csv?class_id={classroom.classes['A'].id}&department={classroom.departments['A2'].id}")
    assert {r[0] for r in list(csv.reader(io.StringIO(a2.get_data().decode("utf-8-sig"))))[1:]} == {"studentA2", "evil"}


def test_xlsx_export_has_numbers_and_escapes_formulas(app, classroom, formula_student, graded):
    response = classroom.client_for(app, "readonlyA").post("/grading/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    head = values[0]
    rows = {r[0]: dict(zip(head, r, strict=True)) for r in values[1:]}
    assert Decimal(str(rows["studentA"]["Reach out: log 5 calls (10)"])) == 10
    assert Decimal(str(rows["studentA"]["Total"])) == 25 and rows["studentA"]["Max"] == 100
    assert rows["evil"]["Name"] == "'=HYPERLINK(\"http://x\")"
    assert all(c.data_type != "f" for r in sheet.iter_rows() for c in r)  # no live formula anywhere


# -- CLI -------------------------------------------------------------------------------------------------------------

def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=["grades", "export", *args])


def test_cli_export(app, classroom, graded, tmp_path):
    out = tmp_path / "grades.csv"
    result = cli(app, "--class", "Class A", "--format", "csv", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert "4 students" in result.stdout
    table = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    studenta = next(r for r in table if r[0] == "studentA")
    assert studenta[-2:] == ["25", "100"]
    xlsx = tmp_path / "grades.xlsx"
    result = cli(app, "--class", "JOINA", "--format", "xlsx", "-o", str(xlsx), "--run", str(graded.id))
    assert result.exit_code == 0, result.output
    assert load_workbook(xlsx).active.max_row == 1 + 4
    assert count(LogEntry, LogEntry.verb == "grade.export") == 2


@pytest.mark.parametrize("args, message", [
    (["--class", "Nope", "--format", "csv"], "no class named or coded 'Nope'"),
    (["--class", "Class A", "--format", "pdf"], "--format: expected csv or xlsx"),
    (["--class", "Class B", "--format", "csv"], "no scenario has been loaded into Class B"),
    (["--class", "Class A", "--format", "csv", "--run", "999999"], "has no class run #999999"),
])
def test_cli_export_fails_clearly(app, classroom, graded, tmp_path, args, message):
    out = tmp_path / "grades.out"
    result = cli(app, *args, "-o", str(out))
    assert result.exit_code != 0 and message in result.stderr and not out.exists()


def test_cli_export_to_an_unwritable_path(app, classroom, graded, tmp_path):
    result = cli(app, "--class", "Class A", "-o", str(tmp_path / "missing" / "dir" / "grades.csv"))
    assert result.exit_code != 0 and "cannot write" in result.stderr
    assert count(LogEntry, LogEntry.verb == "grade.export") == 0


def test_briefing_paragraphs_join_wrapped_lines_and_keep_list_items():
    from sandbox.classroom.grading.view import paragraphs

    text = "You have just joined\nthe company.\n\nIn two weeks:\n1. call your\n   leads;\n2. win.\n"
    assert paragraphs(text) == [["You have just joined the company."], ["In two weeks:", "1. call your leads;", "2. win."]]
    assert paragraphs("你刚加入杭州\n龙坞茶业。\n- 打电话\n") == [["你刚加入杭州龙坞茶业。", "- 打电话"]]
