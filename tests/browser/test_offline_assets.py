"""Charts in classrooms without the CDN: a plain-text note when Chart.js cannot load, and Chart.js served by
the app itself with ASSET_BASE_URL=local (fetched from npm at install time)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from sandbox import access
from sandbox.extensions import db
from sandbox.oplog import set_actor

from .conftest import ARTIFACTS, CDN_BASE, Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def app(app_factory: Any, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The browser tests' app, with extra configuration from an indirect parameter."""
    application = app_factory(WTF_CSRF_ENABLED=True, SERVER_NAME=None, **getattr(request, "param", {}))
    with application.app_context():
        access.use_viewer(access.SYSTEM)
        set_actor(None)
        from sandbox.org.services import create_organization

        create_organization("测试学校")
        db.session.commit()
        yield application


def test_a_chart_that_cannot_load_shows_a_plain_text_note(pages: Pages, classroom: Any) -> None:
    page = pages.new()
    blocked: list[str] = []

    def block(route: Any) -> None:
        if "chart.js" in route.request.url:
            blocked.append(route.request.url)
            route.abort()
        else:
            route.fallback()

    page.route(f"{CDN_BASE}/**", block)
    assert sign_in(page, "studentA").ok
    page.goto("/")
    note = page.get_by_test_id("chart-unavailable")
    note.first.wait_for()
    assert blocked, "the page did not ask the CDN for Chart.js"
    assert note.count() == page.locator(".chart-box").count() >= 2
    assert note.first.inner_text().startswith("This chart cannot be shown")
    assert page.locator("canvas.js-chart").count() == 0
    box = page.locator(".chart-box").first.bounding_box()
    assert box is not None and box["height"] < 120  # the note, not an empty 240-pixel card
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chart-unavailable.png"), full_page=True)
    assert not pages.problems, pages.problems


@pytest.mark.parametrize("app", [{"ASSET_BASE_URL": "local"}], indirect=True)
def test_local_assets_draw_charts_without_the_cdn(pages: Pages, classroom: Any) -> None:
    page = pages.new()
    cdn: list[str] = []

    def refuse(route: Any) -> None:
        cdn.append(route.request.url)
        route.abort()

    page.route(f"{CDN_BASE}/**", refuse)
    assert sign_in(page, "studentA").ok
    page.goto("/")
    page.locator("canvas.js-chart[data-rendered=true]").first.wait_for()
    assert page.locator("canvas.js-chart[data-rendered=true]").count() == page.locator("canvas.js-chart").count() >= 2
    assert page.get_by_test_id("chart-unavailable").count() == 0
    # Bootstrap's JavaScript works too: the user menu opens.
    page.get_by_test_id("user-menu").click()
    page.locator(".dropdown-menu.show").first.wait_for(state="visible")
    assert cdn == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chart-local.png"), full_page=True)
    assert not pages.problems, pages.problems
