"""The service report family (/reports/service): exact numbers on hand-built cases, the visibility rule,
bad input. Cases are inserted as rows (the workflow engine's timestamps set by hand), so every number
below is worked out from the table in `cases`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert

from sandbox.cases.models import Case
from sandbox.clock import utcnow
from sandbox.extensions import db
from tests.test_reports_families import report, table, total_of


@pytest.fixture
def case_type(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The "case" record type: the cases package registers it; until that package is installed on this
    branch, a stand-in with the model and no pages (drill-down links need the list page, so none)."""
    from flask_wtf import FlaskForm

    from sandbox.records import registry as record_types
    from sandbox.reports import engine

    added = False
    if record_types.find("case") is None:
        class StandInForm(FlaskForm):
            """No fields: the reports only need the model."""

        record_types.register(record_types.RecordType(
            name="case", model=Case, form=StandInForm, singular="Case", plural="Cases", fields=[],
            blueprint="cases"))
        added = True
    if "cases.index" not in app.view_functions:
        monkeypatch.setattr(engine, "drill_url", lambda *a, **k: None)
    yield
    if added:
        record_types._TYPES.pop("case", None)


def add_cases(rows: list[dict[str, Any]]) -> None:
    """Insert cases as rows (owner's class filled in)."""
    full = []
    for row in rows:
        owner = row.pop("owner")
        full.append({"owner_id": owner.id, "class_id": owner.class_id, "created_by_id": owner.id,
                     "subject": row.get("subject", "Case"), "state": row.get("state", "new"), **row})
    db.session.execute(insert(Case), full)
    db.session.commit()


T0 = datetime(2025, 3, 10, 8, 0)  # in the past: open cases past their deadline are breaches now


@pytest.fixture
def service(classroom: Any, case_type: None) -> dict[str, Any]:
    """studentA: 4 complaints and 2 feedback; peerA: 1 complaint; studentB (class B): 1 complaint."""
    u = classroom.user
    a = u("studentA")
    add_cases([
        # level 2, resolved in 36 h (deadline 48 h), satisfaction 5, March
        {"owner": a, "workflow": "complaint", "level": 2, "state": "closed", "created_at": T0,
         "resolved_at": T0 + timedelta(hours=36), "closed_at": T0 + timedelta(hours=40),
         "due_at": T0 + timedelta(hours=48), "satisfaction": 5},
        # level 2, resolved in 60 h: a breach; satisfaction 3
        {"owner": a, "workflow": "complaint", "level": 2, "state": "closed", "created_at": T0,
         "resolved_at": T0 + timedelta(hours=60), "closed_at": T0 + timedelta(hours=61),
         "due_at": T0 + timedelta(hours=48), "satisfaction": 3},
        # level 1, resolved in 12 h, April, satisfaction 4
        {"owner": a, "workflow": "complaint", "level": 1, "state": "agreed", "created_at": T0 + timedelta(days=30),
         "resolved_at": T0 + timedelta(days=30, hours=12), "due_at": T0 + timedelta(days=31)},
        # level 3, open and long past its deadline (a breach now)
        {"owner": a, "workflow": "complaint", "level": 3, "state": "received", "created_at": T0 + timedelta(days=30),
         "due_at": T0 + timedelta(days=33)},
        # feedback: one resolved in 2 days (no deadline), one open with a deadline far ahead
        {"owner": a, "workflow": "feedback", "state": "resolved", "created_at": T0,
         "resolved_at": T0 + timedelta(days=2), "satisfaction": 4},
        {"owner": a, "workflow": "feedback", "state": "new", "created_at": T0 + timedelta(days=1),
         "due_at": utcnow() + timedelta(days=365)},
        {"owner": u("peerA"), "workflow": "complaint", "level": 2, "state": "assigned", "created_at": T0},
        {"owner": u("studentB"), "workflow": "complaint", "level": 2, "state": "closed", "created_at": T0,
         "resolved_at": T0 + timedelta(hours=1), "due_at": T0 + timedelta(hours=48), "satisfaction": 1},
    ])
    return {}


def values(page: str, column: int) -> dict[str, str]:
    """key -> the text of one column of the report table (0 is the group label)."""
    return {k: v[column] for k, v in table(page).items()}


def test_feedback_and_complaints_per_month(app: Flask, classroom: Any, service: dict) -> None:
    student = classroom.client_for(app, "studentA")
    page = report(student, "/reports/service?report=per_month&by=month")
    # columns: month, feedback, complaints, cases
    assert table(page) == {"2025-03": ["2025-03", "2", "2", "4"], "2025-04": ["2025-04", "0", "2", "2"]}
    assert 'data-testid="report-total"' in page and total_of(page, "count") == "6"
    by_type = report(student, "/reports/service?report=per_month&by=workflow")
    assert values(by_type, 0) == {"complaint": "Complaint", "feedback": "Feedback"}
    assert values(by_type, 3) == {"complaint": "4", "feedback": "2"}
    zh = student.get("/reports/service?report=per_month&by=workflow&lang=zh_Hans_CN")
    assert zh.status_code == 200 and "投诉单" in zh.get_data(as_text=True)


def test_handled_and_open(app: Flask, classroom: Any, service: dict) -> None:
    teacher = classroom.client_for(app, "teacher")
    class_a = classroom.classes["A"].id
    page = report(teacher, f"/reports/service?report=handled&by=workflow&class={class_a}")
    # columns: type, handled, open, handled %, cases (peerA's assigned complaint is open)
    assert table(page) == {"complaint": ["Complaint", "3", "2", "60.0 %", "5"],
                           "feedback": ["Feedback", "1", "1", "50.0 %", "2"]}
    assert total_of(page, "handled_rate") == "57.1 %"
    mine = report(classroom.client_for(app, "studentA"), "/reports/service?report=handled&by=workflow")
    assert values(mine, 2) == {"complaint": "1", "feedback": "1"}


def test_average_time_to_resolve_per_level(app: Flask, classroom: Any, service: dict) -> None:
    page = report(classroom.client_for(app, "studentA"), "/reports/service?report=resolve_time&by=level")
    # level 2: 36 h and 60 h -> 48 h = 2.0 days; level 1: 12 h = 0.5 days; feedback has no level: 2 days.
    assert table(page) == {"2": ["Level 2", "2.0 days", "2"], "1": ["Level 1", "0.5 days", "1"],
                           "~": ["(none)", "2.0 days", "1"]}
    # Overall: (36 + 60 + 12 + 48) / 4 = 39 h = 1.625 days.
    assert total_of(page, "avg_days") == "1.6 days" and total_of(page, "count") == "4"


def test_satisfaction_average_and_distribution(app: Flask, classroom: Any, service: dict) -> None:
    student = classroom.client_for(app, "studentA")
    page = report(student, "/reports/service?report=satisfaction&by=workflow")
    assert table(page) == {"complaint": ["Complaint", "4.0", "2"], "feedback": ["Feedback", "4.0", "1"]}
    scores = report(student, "/reports/service?report=satisfaction_scores&by=satisfaction")
    assert values(scores, 0) == {"5": "5 of 5", "4": "4 of 5", "3": "3 of 5"}
    assert values(scores, 1) == {"5": "1", "4": "1", "3": "1"}


def test_sla_breaches(app: Flask, classroom: Any, service: dict) -> None:
    page = report(classroom.client_for(app, "studentA"), "/reports/service?report=sla&by=workflow")
    # complaints with a deadline: on time (36 h of 48), late (60 h), on time (12 h of 24), open past it.
    # feedback: the open one whose deadline is a year away; the resolved one has no deadline (not counted).
    assert table(page) == {"complaint": ["Complaint", "2", "2", "50.0 %", "4"],
                           "feedback": ["Feedback", "0", "1", "0.0 %", "1"]}
    by_level = report(classroom.client_for(app, "studentA"), "/reports/service?report=sla&by=level")
    assert values(by_level, 1) == {"2": "1", "3": "1", "1": "0", "~": "0"}


def test_another_class_and_another_student_never_change_a_number(app: Flask, classroom: Any, service: dict) -> None:
    from sandbox.reports.registry import reports_of

    urls = [f"/reports/service?report={r.key}&by={by}" for r in reports_of("service") for by in r.groups]
    clients = {name: classroom.client_for(app, name) for name in ("studentA", "managerA", "teacher")}

    def snapshot(name: str) -> list[Any]:
        return [(url, table(report(clients[name], url))) for url in urls]

    before = {name: snapshot(name) for name in clients}
    more = {"workflow": "complaint", "level": 2, "state": "closed", "created_at": T0, "satisfaction": 2,
            "resolved_at": T0 + timedelta(days=9), "due_at": T0 + timedelta(days=2)}
    add_cases([{"owner": classroom.user("studentC"), **more}])  # teacher2's class
    assert all(snapshot(name) == before[name] for name in clients)
    add_cases([{"owner": classroom.user("studentB"), **more}])  # the teacher's other class
    assert all(snapshot(name) == before[name] for name in ("studentA", "managerA"))
    assert snapshot("teacher") != before["teacher"]


@pytest.mark.parametrize(("path", "message"), [
    ("/reports/service?report=sla&by=colour", "not a field this report can be grouped by"),
    ("/reports/service?report=per_month&from=2030-05-01&to=2030-04-01", "ends before it starts"),
    ("/reports/service?report=handled&owner=nobody", "not one of the choices"),
])
def test_bad_input_is_told_never_a_500(app: Flask, classroom: Any, case_type: None, path: str, message: str) -> None:
    response = classroom.client_for(app, "studentA").get(f"{path}&lang=en")
    assert response.status_code == 400 and message in response.get_data(as_text=True)


def test_a_deleted_case_counts_nowhere(app: Flask, classroom: Any, service: dict) -> None:
    from sqlalchemy import update

    db.session.execute(update(Case).where(Case.workflow == "feedback").values(deleted_at=utcnow()))
    db.session.commit()
    page = report(classroom.client_for(app, "studentA"), "/reports/service?report=per_month&by=workflow")
    assert values(page, 3) == {"complaint": "4"}
