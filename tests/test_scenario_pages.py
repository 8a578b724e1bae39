"""The /scenarios/ page and the `sandbox scenario` commands: load, reset, undo through the real UI and CLI."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sandbox.classroom.models import Run
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.oplog import LogEntry

ROOT = Path(__file__).resolve().parents[1]


def leads(class_id: int) -> list[tuple[int, str]]:
    db.session.expire_all()
    return list(db.session.execute(select(Lead.id, Lead.name).where(Lead.class_id == class_id).order_by(Lead.id)
                                   .execution_options(skip_visibility=True)).all())


def runs() -> list[Run]:
    db.session.expire_all()
    return list(db.session.scalars(select(Run).order_by(Run.id)))


def expected_run(page: str) -> str:
    return re.search(r'name="expected_run" value="(\d+)"', page).group(1)


def load_form(client, class_id: int, **extra):
    page = client.get(f"/scenarios/?class_id={class_id}").get_data(as_text=True)
    data = {"class_id": class_id, "scenario": "sales-basics", "confirm": "y", "expected_run": expected_run(page), **extra}
    return client.post("/scenarios/load", data=data)


def test_teacher_loads_resets_one_student_and_undoes_from_the_page(app, classroom):
    teacher = classroom.client_for(app, "teacher")
    klass = classroom.classes["A"]
    page = teacher.get(f"/scenarios/?class_id={klass.id}")
    assert page.status_code == 200 and "Sales basics: from lead to first order" in page.get_data(as_text=True)
    response = load_form(teacher, klass.id)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    shown = teacher.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r"Loaded sales-basics into Class A: [\d,]+ records for 4 students in [\d.]+ s", shown)
    assert len(leads(klass.id)) == 400 and len(runs()) == 1
    student = classroom.user("studentA")
    mine = [i for i, _n in leads(klass.id)]
    page = teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True)
    response = teacher.post("/scenarios/reset", data={"class_id": klass.id, "student_id": student.id, "confirm": "y",
                                                      "expected_run": expected_run(page)})
    assert response.status_code == 302
    assert "Reset Studenta: " in teacher.get(response.headers["Location"]).get_data(as_text=True)
    assert runs()[-1].student_id == student.id and [i for i, _n in leads(klass.id)] != mine
    page = teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True)
    assert "Undo the last reset" in page
    response = teacher.post("/scenarios/undo", data={"class_id": klass.id, "confirm": "y",
                                                     "expected_run": expected_run(page)})
    assert response.status_code == 302
    assert [i for i, _n in leads(klass.id)] == mine
    assert runs()[-1].undone_at is not None


def test_undo_is_offered_only_once_a_reset_exists(app, classroom):
    """After a class's first load there is nothing from before to put back: no undo card until a reset."""
    teacher = classroom.client_for(app, "teacher")
    klass = classroom.classes["A"]
    assert load_form(teacher, klass.id).status_code == 302
    page = teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True)
    assert "Undo the last reset" not in page and 'data-testid="undo-form"' not in page
    response = teacher.post("/scenarios/reset", data={"class_id": klass.id, "confirm": "y",
                                                      "expected_run": expected_run(page)})
    assert response.status_code == 302
    page = teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True)
    assert "Undo the last reset" in page and 'data-testid="undo-form"' in page
    response = teacher.post("/scenarios/undo", data={"class_id": klass.id, "confirm": "y",
                                                     "expected_run": expected_run(page)})
    assert response.status_code == 302
    # The reset is undone; what is left is the first load again: no undo offered.
    assert "Undo the last reset" not in teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True)


def test_one_student_runs_are_listed_under_their_class_run(app, classroom):
    teacher = classroom.client_for(app, "teacher")
    klass = classroom.classes["A"]
    assert load_form(teacher, klass.id).status_code == 302
    student = classroom.user("studentA")
    page = teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True)
    assert 'data-testid="student-run"' not in page
    response = teacher.post("/scenarios/reset", data={"class_id": klass.id, "student_id": student.id, "confirm": "y",
                                                      "expected_run": expected_run(page)})
    assert response.status_code == 302
    page = teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True)
    table = page.split('data-testid="runs-table"')[1].split("</table>")[0]
    rerun = runs()[-1]
    assert rerun.student_id == student.id and rerun.parent_id == runs()[0].id
    listed = re.findall(r'data-testid="student-run"><td[^>]*>↳ (\d+)</td>\s*<td>([^<]+)</td>', table)
    assert listed == [(str(rerun.id), "Re-run for Studenta")]
    # The re-run sits below its class run.
    assert table.index(f"<td>{rerun.parent_id}</td>") < table.index(f"↳ {rerun.id}")
    # Undone, it stays listed and says so.
    page = teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True)
    assert teacher.post("/scenarios/undo", data={"class_id": klass.id, "confirm": "y",
                                                 "expected_run": expected_run(page)}).status_code == 302
    table = teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True).split('data-testid="runs-table"')[1]
    row = table.split('data-testid="student-run"')[1].split("</tr>")[0]
    assert "undone" in row


def test_the_page_refuses_bad_input_with_a_message_and_changes_nothing(app, classroom):
    teacher = classroom.client_for(app, "teacher")
    klass = classroom.classes["A"]
    response = load_form(teacher, klass.id, confirm="")
    assert response.status_code == 400 and "Tick to confirm" in response.get_data(as_text=True)
    response = load_form(teacher, klass.id, scenario="no-such")
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    response = load_form(teacher, klass.id, deadline="yesterday")
    assert response.status_code == 400 and "Not a valid datetime value" in response.get_data(as_text=True)
    response = teacher.post("/scenarios/reset", data={"class_id": klass.id, "confirm": "y", "expected_run": "0"})
    assert response.status_code == 400 and "No scenario has been loaded" in response.get_data(as_text=True)
    response = teacher.post("/scenarios/undo", data={"class_id": klass.id, "confirm": "y", "expected_run": "0"})
    assert response.status_code == 400 and "no reset of this class that can be undone" in response.get_data(as_text=True)
    assert runs() == [] and leads(klass.id) == []
    # A page opened before someone else's load is stale: its reset is refused.
    stale = expected_run(teacher.get(f"/scenarios/?class_id={klass.id}").get_data(as_text=True))
    assert load_form(teacher, klass.id).status_code == 302
    before = leads(klass.id)
    response = teacher.post("/scenarios/reset", data={"class_id": klass.id, "confirm": "y", "expected_run": stale})
    assert response.status_code == 400 and "while you were deciding" in response.get_data(as_text=True)
    assert leads(klass.id) == before and len(runs()) == 1


def test_a_past_deadline_loads_with_a_warning(app, classroom):
    teacher = classroom.client_for(app, "teacher")
    response = load_form(teacher, classroom.classes["A"].id, deadline="2020-01-01T09:00")
    assert response.status_code == 302
    assert "deadline is already past" in teacher.get(response.headers["Location"]).get_data(as_text=True)


def test_who_may_load(app, classroom):
    klass = classroom.classes["A"]
    data = {"class_id": klass.id, "scenario": "sales-basics", "confirm": "y", "expected_run": "0"}
    assert classroom.client_for(app, "teacher2").post("/scenarios/load", data=data).status_code == 404
    assert classroom.client_for(app, "teacher2").get(f"/scenarios/?class_id={klass.id}").status_code == 404
    for name in ("studentA", "readonlyA", "managerA"):
        assert classroom.client_for(app, name).post("/scenarios/load", data=data).status_code == 403
        assert classroom.client_for(app, name).get("/scenarios/").status_code == 403
    assert runs() == []


def test_invalid_scenario_files_are_listed_with_their_problems(app, classroom, tmp_path):
    (tmp_path / "broken.yaml").write_text("title: {zh: 坏, en: Bad}\nseed: three\n", encoding="utf-8")
    app.config["SCENARIO_DIR"] = str(tmp_path)
    page = classroom.client_for(app, "teacher").get("/scenarios/").get_data(as_text=True)
    assert "Scenario files with problems" in page and "broken.yaml: seed: expected" in page


# ---- CLI ------------------------------------------------------------------------------------------------------------


def cli(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_load_reset_undo(app, classroom):
    klass = classroom.classes["A"]
    result = cli(app, "scenario", "load", "sales-basics", "--class", "JOINA")
    assert result.exit_code == 0, result.output
    assert re.search(r"run #\d+: sales-basics, [\d,]+ records in [\d.]+ s", result.stdout)
    assert "leads: 400 rows" in result.stderr  # progress per table
    result = cli(app, "scenario", "reset", "--class", "Class A", "--student", "studentA")
    assert result.exit_code == 0, result.output
    result = cli(app, "scenario", "undo", "--class", "JOINA")
    assert result.exit_code == 0 and "undid run" in result.stdout
    assert len(leads(klass.id)) == 400


@pytest.mark.parametrize("args, message", [
    (("scenario", "load", "nope", "--class", "JOINA"), "no scenario named nope"),
    (("scenario", "load", "sales-basics", "--class", "NOCLASS"), "no class named or coded"),
    (("scenario", "load", "sales-basics", "--class", "JOINA", "--deadline", "soon"), "--deadline: expected"),
    (("scenario", "reset", "--class", "JOINA"), "No scenario has been loaded"),
    (("scenario", "reset", "--class", "JOINA", "--student", "studentB"), "no student 'studentB' in Class A"),
    (("scenario", "undo", "--class", "JOINA"), "no reset of this class that can be undone"),
])
def test_cli_refusals_go_to_stderr(app, classroom, args, message):
    result = cli(app, *args)
    assert result.exit_code != 0 and message in result.stderr, result.output
    assert runs() == []


def test_killing_the_process_mid_reset_leaves_the_previous_data(app, classroom):
    """A real crash: the CLI is killed (SIGKILL) after it deleted and re-inserted, before it committed."""
    assert cli(app, "scenario", "load", "sales-basics", "--class", "JOINA").exit_code == 0
    class_id = classroom.classes["A"].id
    # The whole log (the log's read rule applies by default; a fresh session has no viewer and reads none).
    whole_log = select(func.count()).select_from(LogEntry).execution_options(skip_visibility=True)
    before, entries = leads(class_id), db.session.scalar(whole_log)
    db.session.commit()
    db.session.remove()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SANDBOX_PAUSE_AT": "reset.inserted",
           "SECRET_KEY": "test"}
    command = str(Path(sys.executable).parent / "sandbox")
    proc = subprocess.Popen([command, "scenario", "reset", "--class", "JOINA"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "paused at reset.inserted" in line:
                break
        else:
            pytest.fail(f"the reset never reached its pause point: {proc.stdout.read()}")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert leads(class_id) == before
    assert db.session.scalar(whole_log) == entries
    assert len(runs()) == 1
    # And the class can be reset normally afterwards (no lock left behind).
    assert cli(app, "scenario", "reset", "--class", "JOINA").exit_code == 0


def test_the_log_filters_by_scenario_run_including_students_re_runs(app, classroom, make_lead):
    from sandbox.classroom.runs.services import load_scenario, reset_scenario
    from tests.conftest import act_as

    klass = classroom.classes["A"]
    act_as(classroom.user("teacher"))
    first = load_scenario(klass, "sales-basics").run
    db.session.commit()
    make_lead(classroom.user("studentA"), name="In the first run")
    act_as(classroom.user("teacher"))
    reset_scenario(klass, classroom.user("studentA"))  # a re-run inside the first class run
    db.session.commit()
    make_lead(classroom.user("studentA"), name="In the re-run")
    act_as(classroom.user("teacher"))
    second = reset_scenario(klass).run
    db.session.commit()
    make_lead(classroom.user("studentA"), name="In the second run")
    teacher = classroom.client_for(app, "teacher")
    page = teacher.get(f"/log/?run={first.id}").get_data(as_text=True)
    assert "In the first run" in page and "In the re-run" in page and "In the second run" not in page
    assert f'<option value="{second.id}"' in page
    page = teacher.get(f"/log/?run={second.id}").get_data(as_text=True)
    assert "In the second run" in page and "In the first run" not in page
    exported = teacher.get(f"/log/export.csv?run={second.id}").get_data(as_text=True)
    assert "In the second run" in exported and "In the re-run" not in exported and "run_id" in exported
    # A student filters their own log by run as well; a bad value is explained, not fatal.
    student = classroom.client_for(app, "studentA")
    page = student.get(f"/log/?run={first.id}").get_data(as_text=True)
    assert "In the re-run" in page and "In the second run" not in page
    response = student.get("/log/?run=abc")
    assert response.status_code == 200 and "is not a scenario run" in response.get_data(as_text=True)
