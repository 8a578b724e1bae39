"""The home page as each role lives it: an instructor's class widgets, a manager's team view (SPEC §6, §8.7, §11)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from html import unescape

from sqlalchemy import select

from sandbox.activities.services import log_call
from sandbox.classroom.models import Run
from sandbox.classroom.runs.services import load_scenario
from sandbox.extensions import db
from sandbox.home.team import period_starts
from sandbox.leads.models import Lead
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.services import change_stage
from sandbox.org.models import utcnow
from sandbox.records.services import create_record
from tests.conftest import act_as

SYSTEM = {"skip_visibility": True}


def load(classroom, klass: str = "A") -> Run:
    """Load the sales-basics scenario into one class and return its run."""
    act_as(classroom.user("teacher"))
    run = load_scenario(classroom.classes[klass], "sales-basics").run
    db.session.commit()
    act_as(None)
    return run


def by_testid(page: str, name: str) -> str:
    """The element of the page with this data-testid."""
    match = re.search(rf'data-testid="{name}"[^>]*>(.*?)</', page, re.S)
    assert match, f"no {name}"
    return unescape(match.group(1)).strip()


def spread(page: str) -> dict:
    """The progress spread chart's data on the page."""
    match = re.search(r'id="spread-chart" data-chart="([^"]*)"', page)
    assert match, "no spread chart"
    return json.loads(unescape(match.group(1)))


def test_instructor_sees_class_widgets_and_no_student_widgets(app, classroom):
    """Instructor sees class widgets and no student widgets."""
    run = load(classroom)
    student = classroom.user("studentA")
    lead = db.session.scalars(select(Lead).where(Lead.owner_id == student.id).execution_options(**SYSTEM)).first()
    act_as(student)
    log_call(lead)
    db.session.commit()
    act_as(None)
    teacher = classroom.client_for(app, "teacher")
    classroom.client_for(app, "studentA")  # a sign-in: noise the activity widget leaves out
    page = teacher.get("/").get_data(as_text=True)
    # No student widgets: no own leads, tasks or own pipeline.
    for student_widget in ('data-testid="open-leads"', 'data-testid="tasks-today"', 'id="pipeline-chart"',
                           'data-testid="won-total"'):
        assert student_widget not in page
    assert by_testid(page, "pending-count") == "1"  # pendingA asks for class A
    assert by_testid(page, "scenario-title") == "Sales basics: from lead to first order"
    assert by_testid(page, "deadline")
    assert by_testid(page, "student-count") == str(len([u for u in ("managerA", "studentA", "peerA", "studentA2")]))
    chart = spread(page)
    assert sum(chart["datasets"][0]["data"]) == 4 and len(chart["labels"]) == 10
    assert 'data-testid="score-table"' in page
    # Everyone but the student who just logged a call has been quiet since the run began (backdated here).
    db.session.execute(Run.__table__.update().where(Run.id == run.id).values(started_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    page = teacher.get("/").get_data(as_text=True)
    quiet = re.findall(r'data-testid="inactive-student">\s*<a[^>]*>([^<]+)</a>', page)
    assert sorted(quiet) == ["Managera", "Peera", "Studenta2"]
    entries = re.findall(r'data-testid="activity-entry">(.*?)</li>', page, re.S)
    assert entries and not any("signed in" in e or "signed out" in e for e in entries)
    assert any("Studenta" in e and "call" in e.lower() for e in entries)


def test_instructor_with_several_classes_picks_one(app, classroom):
    """Instructor with several classes picks one."""
    load(classroom, "B")
    teacher = classroom.client_for(app, "teacher")
    page = teacher.get("/").get_data(as_text=True)
    assert 'data-testid="class-picker"' in page
    assert "Scenario in Class B" in page  # the class with a running scenario comes first
    page = teacher.get(f"/?class_id={classroom.classes['A'].id}").get_data(as_text=True)
    assert "Scenario in Class A" in page and 'data-testid="no-run"' in page and 'id="spread-chart"' not in page
    response = teacher.get("/?class_id=nonsense")
    assert response.status_code == 200 and "You do not teach a class “nonsense”" in response.get_data(as_text=True)
    # Another teacher's class is not shown: the same message, and none of its names.
    page = teacher.get(f"/?class_id={classroom.classes['C'].id}").get_data(as_text=True)
    assert 'data-testid="problem"' in page and "Class C" not in page


def test_instructors_home_costs_the_same_few_queries_for_more_students(app, classroom):
    """The widgets use batch grading: adding students adds no queries."""
    from sqlalchemy import event

    from sandbox.org.models import Role
    from sandbox.org.services import create_user

    load(classroom)
    teacher = classroom.client_for(app, "teacher")

    def count() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert teacher.get("/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    # The first view after a change scores again what changed (the kept gradebook); compare the views after it.
    count()
    before = count()
    act_as(None)
    for i in range(6):
        create_user(None, f"extra{i}", f"Extra {i}", "pw-123456", Role.STUDENT, classroom.positions["A2"])
    db.session.commit()
    count()
    assert count() == before


def test_manager_sees_the_team_through_visibility(app, classroom, make_lead):
    """Manager sees the team through visibility."""
    manager, student, peer = classroom.user("managerA"), classroom.user("studentA"), classroom.user("peerA")
    make_lead(student, name="Open one")
    make_lead(student, name="Done one", status="unqualified")
    make_lead(peer, name="Peer lead")
    act_as(student)
    open_deal = create_record(Opportunity, {"name": "Open deal", "stage": "prospecting", "amount": Decimal("1000")})
    won = create_record(Opportunity, {"name": "Won deal", "stage": "prospecting", "amount": Decimal("5000")})
    change_stage(won, "closed_won")
    log_call(db.session.scalars(select(Lead).where(Lead.owner_id == student.id)).first())
    db.session.commit()
    act_as(None)
    page = classroom.client_for(app, "managerA").get("/").get_data(as_text=True)
    rows = re.findall(r'<tr data-testid="team-row">(.*?)</tr>', page, re.S)
    cells = {re.search(r"<td>([^<]+)</td>", r).group(1): re.findall(r'<td class="text-end">([^<]+)</td>', r)
             for r in rows}
    assert cells["Studenta"] == ["1", "1", "¥1,000", "¥5,000", "1"]
    assert cells["Peera"] == ["1", "0", "¥0", "¥0", "0"]
    assert manager.display_name not in cells and "Studenta2" not in cells  # A2 is not the manager's department
    assert open_deal.id  # counted above through the manager's visibility
    # A plain student has no team view; the instructor neither (class widgets instead).
    assert 'data-testid="team-view"' not in classroom.client_for(app, "studentA").get("/").get_data(as_text=True)


def test_team_view_counts_only_what_the_manager_may_see(app, classroom, make_lead, monkeypatch):
    """A record the visibility rule hides from the manager is not counted (the rule decides, not the view)."""
    from sandbox import access

    student = classroom.user("studentA")
    hidden = make_lead(student, name="Hidden lead")
    make_lead(student, name="Seen lead")
    real = access.criterion

    def hide_one(cls, viewer, include_deleted=False, by_key=False, bound=False):
        rule = real(cls, viewer, include_deleted, by_key, bound)
        return rule & (cls.id != hidden.id) if cls is Lead else rule

    monkeypatch.setattr(access, "criterion", hide_one)
    # The rule's options are kept per worker for equal viewers: built again from the patched rule here, and
    # forgotten afterwards so no later test meets them.
    access._options_for.cache_clear()
    try:
        page = classroom.client_for(app, "managerA").get("/").get_data(as_text=True)
    finally:
        access._options_for.cache_clear()
    row = re.search(r'<tr data-testid="team-row"><td>Studenta</td>(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'<td class="text-end">([^<]+)</td>', row)[0] == "1"


def test_period_starts_are_local_midnights(app):
    """Month and week start at midnight in the UI time zone (Shanghai: UTC+8), stored as naive UTC."""
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Shanghai"
    with app.test_request_context():
        # 17:00 UTC on Wednesday 2 Dec is 01:00 on Thursday 3 Dec in Shanghai.
        month, week = period_starts(datetime(2026, 12, 2, 17, 0))
        assert (month, week) == (datetime(2026, 11, 30, 16, 0), datetime(2026, 11, 29, 16, 0))
        month, week = period_starts(datetime(2026, 11, 30, 15, 59))  # still Monday 30 Nov in Shanghai
        assert (month, week) == (datetime(2026, 10, 31, 16, 0), datetime(2026, 11, 29, 16, 0))
