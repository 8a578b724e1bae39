"""Grades a bored student cannot fake, as the instructor sees them in Chromium: a student qualifies one lead back
and forth and adds a line only to take it off again; a classmate manager deletes the student's visit note. The
gradebook gives the honest share, the evidence page still shows the deleted note (marked), and class activity
flags the undo-and-redo pattern for review."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sandbox.classroom.runs.services import load_scenario
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.records.models import Note
from sandbox.records.notes import add_note, delete_note
from sandbox.records.services import update_record
from tests.conftest import act_as
from tests.test_objectives import as_user

from .conftest import ARTIFACTS, Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


@pytest.mark.browser
def test_the_instructor_sees_honest_points_a_deleted_note_and_an_undo_hint(pages: Pages, classroom: Any) -> None:
    klass = classroom.classes["A"]
    act_as(classroom.user("teacher"))
    load_scenario(klass, "sales-basics")
    db.session.commit()
    student, manager = classroom.user("studentA"), classroom.user("managerA")
    lead_id = db.session.scalars(select(Lead.id).where(Lead.owner_id == student.id, Lead.status == "new").order_by(Lead.id)
                                 .execution_options(skip_visibility=True)).first()
    for status in ("qualified", "contacted", "qualified", "contacted", "qualified"):
        lead = db.session.scalars(select(Lead).where(Lead.id == lead_id).execution_options(skip_visibility=True)).one()
        as_user(student, update_record, lead, {"status": status})
    lead = db.session.scalars(select(Lead).where(Lead.id == lead_id).execution_options(skip_visibility=True)).one()
    note = as_user(student, add_note, lead, "Visit: the buyer wants 300 gift boxes before the Mid-Autumn festival")
    lead = db.session.scalars(select(Lead).where(Lead.id == lead_id).execution_options(skip_visibility=True)).one()
    as_user(manager, delete_note, lead, db.session.get(Note, note.id))

    teacher = pages.new()
    assert sign_in(teacher, "teacher").ok
    teacher.goto(f"/grading/?class_id={klass.id}")
    cell = teacher.locator(f"tr[data-student={student.username}] td[data-objective=qualify-leads]").inner_text()
    assert cell.strip() == "2"  # one lead qualified five times: one lead of five

    teacher.goto(f"/grading/students/{student.id}")
    qualify = teacher.locator("#objective-qualify-leads")
    assert "1 of 5" in qualify.inner_text() and "did not count" in qualify.inner_text()
    document = teacher.get_by_test_id("document").first
    assert document.get_attribute("data-deleted") == "1"
    assert "300 gift boxes" in document.inner_text() and manager.display_name in document.inner_text()
    teacher.screenshot(path=str(ARTIFACTS / "grading-evidence-deleted-note.png"), full_page=True)

    teacher.goto(f"/grading/activity?class_id={klass.id}")
    hint = teacher.locator(".hint-kind", has_text="Undo and redo")
    assert hint.count() == 1
    teacher.screenshot(path=str(ARTIFACTS / "grading-activity-undo-hint.png"), full_page=True)
