"""Importing another system's export in Chromium: upload, choose the field of each unknown column, import;
the next upload of the same export maps by itself."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.extensions import db
from sandbox.leads.models import Lead

from .conftest import ARTIFACTS, Pages
from .test_classroom_flow import sign_in

pytestmark = pytest.mark.browser

EXPORT = ("Lead ID,Vorname,Nachname,Firma,Lead Source,Stand\n"
          "00Q1,Ada,Lovelace,Engines Ltd,Partner Referral,Qualified\n"
          "00Q2,小明,王,杭州茶业,Web,已联系\n")


def _shot(page: Any, name: str) -> None:
    """With SCREENSHOTS=1, keep a picture of the page to look at (test-artifacts/)."""
    if os.environ.get("SCREENSHOTS") == "1":
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"import-{name}.png"), full_page=True)


@pytest.mark.browser
def test_map_the_columns_of_an_export_once(pages: Pages, classroom: Any, tmp_path: Path) -> None:
    export = tmp_path / "partner-leads.csv"
    export.write_text(EXPORT, encoding="utf-8")
    page = pages.new()
    assert sign_in(page, "studentA").ok
    page.goto("/leads/import?lang=en")
    page.set_input_files("input[name=file]", str(export))
    page.get_by_role("button", name="Import").click()
    page.wait_for_selector("[data-testid=import-columns-step]")
    assert "4 columns are not recognised." in page.content()
    _shot(page, "columns")
    page.get_by_label("Vorname").select_option("name:first")
    page.get_by_label("Nachname").select_option("name:last")
    page.get_by_label("Firma").select_option("company")
    page.get_by_label("Stand").select_option("status")
    assert page.get_by_label("Lead Source").input_value() == "source"  # a Salesforce column
    page.get_by_role("button", name="Import with these columns").click()
    page.wait_for_selector("[data-testid=import-result]")
    _shot(page, "result")
    assert "2 records imported." in page.content()
    names = list(db.session.scalars(select(Lead.name).order_by(Lead.id).execution_options(skip_visibility=True)))
    assert names == ["Ada Lovelace", "王小明"]

    page.goto("/leads/import?lang=en")
    page.set_input_files("input[name=file]", str(export))
    page.get_by_role("button", name="Import").click()
    page.wait_for_selector("[data-testid=import-result]")
    assert "2 records imported." in page.content() and "Vorname → Name (given name)" in page.content()
    assert pages.problems == []
