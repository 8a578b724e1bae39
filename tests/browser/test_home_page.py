"""The instructor's home in Chromium at the two laptop widths of a classroom (1366 and 1280 px), and the
pipeline board at 1366 px: class widgets, no student widgets, the chart drawn, no sideways page scroll."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.classroom.runs.services import load_scenario
from sandbox.extensions import db
from tests.conftest import act_as

from .conftest import ARTIFACTS, Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser

WIDTHS = (1366, 1280)


def _page_scrolls_sideways(page: Any) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > document.documentElement.clientWidth")


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.browser
def test_instructor_home_shows_class_widgets(pages: Pages, classroom: Any) -> None:
    act_as(classroom.user("teacher"))
    load_scenario(classroom.classes["A"], "sales-basics")
    db.session.commit()
    act_as(None)
    teacher = pages.new()
    assert sign_in(teacher, "teacher").ok
    for width in WIDTHS:
        teacher.set_viewport_size({"width": width, "height": 900})
        teacher.goto("/")
        assert teacher.get_by_test_id("pending-count").inner_text().strip() == "1"
        assert "Sales basics" in teacher.get_by_test_id("scenario-title").inner_text()
        assert teacher.get_by_test_id("deadline").inner_text().strip()
        teacher.wait_for_function("() => document.getElementById('spread-chart')?.dataset.rendered === 'true'")
        bars = teacher.evaluate("() => document.getElementById('spread-chart').chart.data.datasets[0].data")
        assert sum(bars) == 4  # the four active students of class A
        assert teacher.get_by_test_id("score-table").is_visible()
        assert teacher.get_by_test_id("inactive").is_visible()
        assert teacher.get_by_test_id("class-activity").is_visible()
        for student_widget in ("open-leads", "tasks-today", "tasks-overdue", "won-total"):
            assert teacher.get_by_test_id(student_widget).count() == 0
        assert teacher.locator("#pipeline-chart").count() == 0
        assert not _page_scrolls_sideways(teacher), f"the home page scrolls sideways at {width} px"
        _shot(teacher, f"home-instructor-{width}")
    assert pages.problems == []


@pytest.mark.browser
def test_pipeline_board_fits_1366(pages: Pages, classroom: Any) -> None:
    act_as(classroom.user("teacher"))
    load_scenario(classroom.classes["A"], "sales-basics")
    db.session.commit()
    act_as(None)
    student = pages.new()
    assert sign_in(student, "studentA").ok
    student.set_viewport_size({"width": 1366, "height": 900})
    student.goto("/opportunities/pipeline")
    board = student.get_by_test_id("pipeline")
    assert board.locator(".pipeline-col").count() == 8
    assert not _page_scrolls_sideways(student)
    # Every column is on screen: the board itself needs no sideways scroll either.
    assert student.evaluate("(b) => b.scrollWidth <= b.clientWidth", board.element_handle())
    _shot(student, "pipeline-1366")
    assert pages.problems == []
