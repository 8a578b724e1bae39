"""A record page's timeline, read in Chromium in English and in Chinese: labels, names and local times,
never codes, ids or microseconds (SPEC §8.1, §9.1)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from sandbox.accounts.models import Account
from sandbox.extensions import db
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.services import change_stage, create_opportunity, update_opportunity
from sandbox.records.services import create_record
from tests.conftest import PASSWORD, act_as

from .conftest import ARTIFACTS, Pages

pytestmark = pytest.mark.browser

RAW = re.compile(r"closed_won|negotiation|account_id|\d{2}:\d{2}:\d{2}\.\d+|\d{4}-\d{2}-\d{2}T\d{2}")


def _sign_in(page: Any, username: str) -> Any:
    """Sign in whatever the page's language (Enter in the password field, not the button's name)."""
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation() as nav:
        page.press("input[name=password]", "Enter")
    return nav.value


def _deal(classroom: Any) -> Opportunity:
    act_as(classroom.user("studentA"))
    first = create_record(Account, {"name": "Tea House"})
    second = create_record(Account, {"name": "Lakeside Hotel"})
    opp = create_opportunity(Opportunity, {"name": "Spring order", "account_id": first.id, "stage": "negotiation",
                                           "close_date": date(2030, 6, 30), "amount": Decimal("38320")})
    db.session.commit()
    update_opportunity(opp, {"account_id": second.id})
    db.session.commit()
    change_stage(opp, "closed_won")
    db.session.commit()
    act_as(None)
    return opp


@pytest.mark.browser
def test_the_timeline_reads_in_the_viewers_language(pages: Pages, classroom: Any) -> None:
    opp = _deal(classroom)
    expected = {
        "en-US": ("Stage: Negotiation → Closed won", "Account: Tea House → Lakeside Hotel",
                  "moved opportunity Spring order from Negotiation to Closed won"),
        "zh-CN": ("阶段: 谈判审核 → 赢单", "客户: Tea House → Lakeside Hotel", "Spring order"),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    for locale, wanted in expected.items():
        page = pages.new(locale=locale)
        assert _sign_in(page, "studentA").ok
        page.goto(f"/opportunities/{opp.id}")
        timeline = page.get_by_test_id("timeline")
        timeline.wait_for()
        shown = " ".join(timeline.inner_text().split())
        for text in wanted:
            assert text in shown, (locale, shown)
        assert not RAW.search(shown), (locale, RAW.search(shown), shown)
        page.screenshot(path=str(ARTIFACTS / f"timeline-{locale}.png"), full_page=True)
        # The operation log page renders the same entries the same way.
        page.goto("/log/")
        table = " ".join(page.get_by_test_id("log-table").inner_text().split())
        assert wanted[0] in table and not RAW.search(table), (locale, table)
        page.screenshot(path=str(ARTIFACTS / f"log-{locale}.png"), full_page=True)
    assert not pages.problems, pages.problems
