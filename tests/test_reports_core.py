"""The report engine (SPEC §6): exact numbers through the visibility rule, drill-down, bad input, export."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from tests import helpers


@pytest.fixture
def deals(classroom: Any, create_opportunity: Any) -> dict[str, Any]:
    """Opportunities of studentA, peerA, studentA2 (class A) and studentB (class B)."""
    u = classroom.user
    made = {}
    for owner, name, stage, amount in (
        ("studentA", "A open 1", "prospecting", 100), ("studentA", "A open 2", "proposal", 250),
        ("studentA", "A won", "closed_won", 1000), ("studentA", "A lost", "closed_lost", 400),
        ("peerA", "peer open", "prospecting", 50), ("peerA", "peer won", "closed_won", 300),
        ("studentA2", "A2 open", "proposal", 70),
        ("studentB", "B open", "prospecting", 9999), ("studentB", "B won", "closed_won", 8888),
    ):
        extra = {"lost_reason": "price"} if stage == "closed_lost" else {}
        made[name] = create_opportunity(u(owner), name=name, stage=stage, amount=Decimal(amount),
                                        close_date=date(2030, 3, 15), **extra)
    return made


def _table(page: str) -> dict[str, list[str]]:
    import re

    rows = re.findall(r'<tr data-key="([^"]+)">(.*?)</tr>', page, re.S)
    return {key: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
            for key, body in rows}


def test_pipeline_by_stage_counts_what_each_viewer_may_see(app: Flask, classroom: Any, deals: dict) -> None:
    student = classroom.client_for(app, "studentA")
    page = helpers.text(student.get("/reports/opportunities?report=pipeline&by=stage&lang=en"))
    rows = _table(page)
    assert rows["prospecting"][1:] == ["¥100.00", "1"] or rows["prospecting"][2] == "1"
    assert set(rows) == {"prospecting", "proposal"}  # closed deals are not pipeline; others' never
    teacher = classroom.client_for(app, "teacher")
    class_a = classroom.classes["A"].id
    rows = _table(helpers.text(teacher.get(f"/reports/opportunities?report=pipeline&by=stage&class={class_a}")))
    assert rows["prospecting"][2] == "2" and rows["proposal"][2] == "2"  # studentA + peerA; studentA + studentA2
    manager = classroom.client_for(app, "managerA")
    rows = _table(helpers.text(manager.get("/reports/opportunities?report=pipeline&by=owner")))
    owners = {cells[0] for cells in rows.values()}
    assert "Studenta2" not in owners and "Studentb" not in owners


def test_drill_down_lists_exactly_the_rows_behind_a_number(app: Flask, classroom: Any, deals: dict) -> None:
    teacher = classroom.client_for(app, "teacher")
    peer = classroom.user("peerA").id
    page = helpers.text(teacher.get(f"/opportunities/?report=opportunities.won&by=owner&value={peer}"))
    assert "peer won" in page and "A won" not in page and "peer open" not in page
    assert 'data-testid="drill-note"' in page


def test_win_rate_and_deal_size_exact(app: Flask, classroom: Any, deals: dict) -> None:
    student = classroom.client_for(app, "studentA")
    rows = _table(helpers.text(student.get("/reports/opportunities?report=win_rate&by=owner&lang=en")))
    assert rows[str(classroom.user("studentA").id)][1] == "50.0 %"
    teacher = classroom.client_for(app, "teacher")
    page = helpers.text(teacher.get("/reports/opportunities?report=deal_size&by=class&lang=en"))
    rows = _table(page)
    assert rows[str(classroom.classes["A"].id)][2] == "2"  # A won, peer won
    assert "650.00" in rows[str(classroom.classes["A"].id)][1]


@pytest.mark.parametrize(("query", "status", "message"), [
    ("report=pipeline&by=colour", 400, "not a field this report can be grouped by"),
    ("report=pipeline&from=2030-05-01&to=2030-04-01", 400, "ends before it starts"),
    ("report=pipeline&from=yesterday", 400, "YYYY-MM-DD"),
    ("report=nothing", 404, ""),
])
def test_bad_filters_are_told_never_a_500(app: Flask, classroom: Any, query: str, status: int, message: str) -> None:
    student = classroom.client_for(app, "studentA")
    response = student.get(f"/reports/opportunities?{query}&lang=en")
    assert response.status_code == status
    assert message in helpers.text(response)


def test_an_unknown_family_is_404(app: Flask, classroom: Any) -> None:
    assert classroom.client_for(app, "studentA").get("/reports/horoscopes").status_code == 404


def test_export_is_the_table_and_is_logged(app: Flask, classroom: Any, deals: dict) -> None:
    student = classroom.client_for(app, "studentA")
    page = helpers.text(student.get("/reports/opportunities?report=won&by=owner"))
    response = student.post("/reports/opportunities/export.csv?report=won&by=owner",
                            data={"csrf_token": helpers.csrf_token(page)})
    assert response.status_code == 200
    body = response.data.decode("utf-8-sig")
    assert "1000.00" in body and "8888" not in body and "300.00" not in body
    assert len(helpers.entries("report.export")) == 1
