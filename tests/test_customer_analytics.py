"""Customer analytics (/reports/customers): exact RFM scores and segments, exact lifetime values, segments saved
as tags (logged, idempotent, refused to observers), visibility, bad input."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from flask import Flask

from sandbox.extensions import db
from sandbox.reports import rfm
from tests import helpers

TODAY = date(2030, 6, 30)


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recency counts days to today: freeze it."""
    monkeypatch.setattr("sandbox.clock.today", lambda: TODAY)


# ---- the pure rules ---------------------------------------------------------------------------------------
def test_quintile_scores_spread_ties_share_and_few_accounts_work() -> None:
    assert rfm.quintile_scores(list(range(10))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.quintile_scores([7]) == [3]
    assert rfm.quintile_scores([1, 2]) == [2, 4]
    assert rfm.quintile_scores([5, 1, 3]) == [5, 1, 3]
    assert rfm.quintile_scores([4, 4, 4, 4]) == [3, 3, 3, 3]  # nothing tells them apart
    assert rfm.quintile_scores([1, 1, 2, 2, 3]) == [2, 2, 4, 4, 5]  # equal values share a score
    assert rfm.quintile_scores([]) == []


def test_high_is_above_the_average_score_and_the_eight_segments() -> None:
    assert rfm.highs([5, 2, 4, 2, 4]) == [True, False, True, False, True]  # average 3.4
    assert rfm.highs([3, 3]) == [False, False]
    assert rfm.segment_of(True, True, True) == "important_value"
    assert rfm.segment_of(True, False, True) == "important_development"
    assert rfm.segment_of(False, True, True) == "important_retention"
    assert rfm.segment_of(False, False, True) == "important_winback"
    assert rfm.segment_of(True, True, False) == "general_value"
    assert rfm.segment_of(True, False, False) == "general_development"
    assert rfm.segment_of(False, True, False) == "general_retention"
    assert rfm.segment_of(False, False, False) == "general_winback"


def test_lifetime_value_arithmetic() -> None:
    assert rfm.lifetime_value(Decimal("290"), 2, Fraction(1), Decimal("3")) == (
        Decimal("145.00"), Decimal("2.00"), Decimal("870.00"))
    assert rfm.lifetime_value(Decimal("100"), 1, Fraction(2), Decimal("2.5")) == (
        Decimal("100.00"), Decimal("0.50"), Decimal("125.00"))
    assert rfm.lifetime_value(Decimal("100"), 0, Fraction(1), Decimal("3")) == (
        Decimal("0.00"), Decimal("0.00"), Decimal("0.00"))


# ---- a hand-built class ---------------------------------------------------------------------------------
WON = {  # account -> [(close date, amount)] of studentA's won deals
    "Acme": [(date(2030, 6, 20), 1000), (date(2030, 5, 1), 2000), (date(2030, 3, 1), 1500)],
    "Birch": [(date(2030, 6, 10), 300)],
    "Cedar": [(date(2029, 12, 31), 5000), (date(2029, 11, 1), 5000)],
    "Dune": [(date(2029, 6, 30), 100)],
    "Elm": [(date(2030, 4, 1), 800), (date(2030, 2, 1), 700)],
}
# account -> (recency, frequency, monetary, R, F, M, segment), worked out by hand in the module's rules:
# R scores 5,4,2,1,3 (average 3), F scores 5,2,4,2,4 (average 3.4), M scores 4,2,5,1,3 (average 3).
EXPECTED = {
    "Acme": ("10", "3", "4,500.00", "5", "5", "4", "Important value"),
    "Birch": ("20", "1", "300.00", "4", "2", "2", "General development"),
    "Cedar": ("181", "2", "10,000.00", "2", "4", "5", "Important retention"),
    "Dune": ("365", "1", "100.00", "1", "2", "1", "General win-back"),
    "Elm": ("90", "2", "1,500.00", "3", "4", "3", "General retention"),
}


@pytest.fixture
def book(classroom: Any, create_account: Any, create_opportunity: Any) -> dict[str, Any]:
    """StudentA's five accounts with won deals (plus a lost and an open deal that never count); peerA's and
    studentB's won deals (another student, another class) that must never change studentA's numbers."""
    u = classroom.user
    accounts = {name: create_account(u("studentA"), name=name) for name in WON}
    for name, deals in WON.items():
        for i, (day, amount) in enumerate(deals):
            create_opportunity(u("studentA"), name=f"{name} {i}", account_id=accounts[name].id, stage="closed_won",
                               amount=Decimal(amount), close_date=day)
    create_opportunity(u("studentA"), name="lost", account_id=accounts["Birch"].id, stage="closed_lost",
                       lost_reason="price", amount=Decimal(99999), close_date=date(2030, 6, 29))
    create_opportunity(u("studentA"), name="open", account_id=accounts["Dune"].id, stage="proposal",
                       amount=Decimal(99999), close_date=date(2030, 6, 29))
    for owner, name in (("peerA", "Peer Co"), ("studentB", "Other Class Co")):
        other = create_account(u(owner), name=name)
        accounts[name] = other
        for day in (date(2030, 6, 29), date(2030, 6, 28), date(2030, 6, 27)):
            create_opportunity(u(owner), name=f"{name} deal", account_id=other.id, stage="closed_won",
                               amount=Decimal(1_000_000), close_date=day)
    return accounts


def _rows(page: str) -> dict[str, list[str]]:
    """Account name -> the cells of its row in the accounts table."""
    table = page.split('data-testid="report-table"', 1)[1].split("</table>", 1)[0]
    out = {}
    for body in re.findall(r'<tr data-key="\d+">(.*?)</tr>', table, re.S):
        # Amounts lose their currency sign ("CN¥1,500.00" in English, "1,500.00" in Chinese).
        cells = [re.sub(r"^(CN)?¥", "", re.sub(r"<[^>]+>", "", c).strip())
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        out[cells[0] if not cells[0].isdigit() else cells[1]] = cells
    return out


def _rfm(cells: list[str]) -> tuple[str, ...]:
    # Account, last won, recency, frequency, monetary, R, F, M, segment
    return (cells[2], cells[3], cells[4], cells[5], cells[6], cells[7], cells[8])


def test_rfm_scores_and_segments_exact_and_only_what_the_student_sees(app: Flask, classroom: Any, book: dict) -> None:
    student = classroom.client_for(app, "studentA")
    response = student.get("/reports/customers?lang=en")
    assert response.status_code == 200
    rows = _rows(helpers.text(response))
    assert set(rows) == set(WON)  # peerA's (private class) and class B's accounts never appear
    assert {name: _rfm(cells) for name, cells in rows.items()} == EXPECTED
    page = helpers.text(response)
    counts = dict(re.findall(r'<tr data-segment="(\w+)".*?data-col="count">(\d+)<', page, re.S))
    assert counts == {"important_value": "1", "important_development": "0", "important_retention": "1",
                      "important_winback": "0", "general_value": "0", "general_development": "1",
                      "general_retention": "1", "general_winback": "1"}
    assert 'id="segment-data"' in page and "<script>" not in page


def test_another_class_never_changes_a_number(app: Flask, classroom: Any, book: dict, create_opportunity: Any) -> None:
    student = classroom.client_for(app, "studentA")
    before = helpers.text(student.get("/reports/customers?lang=en"))
    # A huge win in class B on class B's account, and one on a class-B account named like studentA's.
    create_opportunity(classroom.user("studentB"), name="B again", account_id=book["Other Class Co"].id,
                       stage="closed_won", amount=Decimal(5), close_date=date(2030, 6, 30))
    after = helpers.text(student.get("/reports/customers?lang=en"))
    assert _rows(before) == _rows(after)
    teacher = classroom.client_for(app, "teacher")
    class_a = classroom.classes["A"].id
    rows = _rows(helpers.text(teacher.get(f"/reports/customers?lang=en&class={class_a}")))
    assert set(rows) == {*WON, "Peer Co"}  # the instructor sees the class; the class filter keeps B out
    rows = _rows(helpers.text(teacher.get("/reports/customers?lang=en")))
    assert "Other Class Co" in rows


def test_filters_period_and_segment(app: Flask, classroom: Any, book: dict) -> None:
    student = classroom.client_for(app, "studentA")
    rows = _rows(helpers.text(student.get("/reports/customers?lang=en&from=2030-01-01&to=2030-05-31")))
    # Recency counts to the period's end; only deals closed in the period count.
    assert {n: (c[2], c[3], c[4]) for n, c in rows.items()} == {
        "Acme": ("30", "2", "3,500.00"), "Elm": ("60", "2", "1,500.00")}
    rows = _rows(helpers.text(student.get("/reports/customers?lang=en&segment=important_retention")))
    assert set(rows) == {"Cedar"}


def test_an_unknown_report_of_the_family_is_404(app: Flask, classroom: Any) -> None:
    assert classroom.client_for(app, "studentA").get("/reports/customers?report=horoscope").status_code == 404


@pytest.mark.parametrize(("query", "field", "message"), [
    ("report=clv&margin=-5", "margin", "from 0 to 100"),
    ("report=clv&margin=abc", "margin", "from 0 to 100"),
    ("report=clv&margin=150", "margin", "from 0 to 100"),
    ("report=clv&years=0", "years", "more than 0"),
    ("report=clv&years=NaN", "years", "more than 0"),
    ("report=clv&years=-1", "years", "more than 0"),
    ("segment=loyal", "segment", "not one of the choices"),
    ("from=2030-05-01&to=2030-04-01", "to", "ends before it starts"),
    ("from=soon", "from", "YYYY-MM-DD"),
    ("owner=x", "owner", "not one of the choices"),
])
def test_bad_input_is_400_next_to_the_field(app: Flask, classroom: Any, query: str, field: str, message: str) -> None:
    response = classroom.client_for(app, "studentA").get(f"/reports/customers?{query}&lang=en")
    assert response.status_code == 400
    page = helpers.text(response)
    assert message in page
    # A student's owner filter offers the student (the people whose records they may read): the message about
    # an owner stands next to it as next to any other field.
    assert re.search(rf'id="{field}" name="{field}"', page) and 'data-testid="field-error"' in page


# ---- lifetime value -------------------------------------------------------------------------------------
@pytest.fixture
def priced(app: Flask, classroom: Any, create_account: Any, create_opportunity: Any, create_product: Any
           ) -> dict[str, Any]:
    """Xylo: a deal with lines (a product with a cost: 2 × 100 at cost 60; one without: 1 × 50) and a deal of
    1000 without lines; Yew: one deal of 500 without lines. Class B's priced deal must never count."""
    from sandbox.opportunities.lines import add_line
    from sandbox.opportunities.services import change_stage

    u = classroom.user
    class_a = classroom.classes["A"].id
    costed = create_product(u("teacher"), name="Costed", list_price=Decimal(100), cost=Decimal(60), class_id=class_a)
    plain = create_product(u("teacher"), name="Uncosted", list_price=Decimal(50), class_id=class_a)
    xylo = create_account(u("studentA"), name="Xylo")
    yew = create_account(u("studentA"), name="Yew")
    lined = create_opportunity(u("studentA"), name="lined", account_id=xylo.id, stage="proposal",
                               close_date=date(2030, 1, 10))
    helpers.act_as(u("studentA"))
    add_line(lined, costed, Decimal(2))
    add_line(lined, plain, Decimal(1))
    change_stage(lined, "closed_won")
    db.session.commit()
    helpers.act_as(None)
    create_opportunity(u("studentA"), name="plain", account_id=xylo.id, stage="closed_won", amount=Decimal(1000),
                       close_date=date(2030, 3, 10))
    create_opportunity(u("studentA"), name="yew deal", account_id=yew.id, stage="closed_won", amount=Decimal(500),
                       close_date=date(2030, 5, 1))
    other = create_account(u("studentB"), name="Zed")
    create_opportunity(u("studentB"), name="zed deal", account_id=other.id, stage="closed_won",
                       amount=Decimal(777777), close_date=date(2030, 5, 1))
    return {"xylo": xylo, "yew": yew}


def _values(page: str) -> dict[str, list[str]]:
    return {cells[1]: cells for cells in _rows(page).values()}


def test_lifetime_value_exact_from_product_costs_and_the_assumed_margin(app: Flask, classroom: Any,
                                                                       priced: dict) -> None:
    student = classroom.client_for(app, "studentA")
    page = helpers.text(student.get("/reports/customers?report=clv&lang=en"))
    # Xylo: margins 2×(100−60) = 80 and 20 % of 50 = 10 on the lined deal, 20 % of 1000 = 200 on the other:
    # 290 over 2 deals = 145 a deal; first win 2030-01-10 to today is under a year, counted as one: 2 a year;
    # × 3 years = 870. Yew: 20 % of 500 = 100, once a year, × 3 = 300.
    rows = _values(page)
    assert rows["Xylo"] == ["1", "Xylo", "2", "1", "145.00", "2.00", "870.00"]
    assert rows["Yew"] == ["2", "Yew", "1", "0", "100.00", "1.00", "300.00"]
    assert set(rows) == {"Xylo", "Yew"}
    assert 'data-testid="clv-assumptions"' in page and "20 %" in page
    chart = json.loads(page.split('<script type="application/json" id="clv-data">', 1)[1].split("</script>", 1)[0])
    assert chart["labels"] == ["Xylo", "Yew"] and chart["values"] == [870.0, 300.0]
    # Editable: 10 % margin, 2 years, over an explicit half year (2030-01-01 to 2030-06-30: 181 days).
    page = helpers.text(student.get("/reports/customers?report=clv&margin=10&years=2&from=2030-01-01&lang=en"))
    rows = _values(page)
    # Xylo: 80 + 10 % of (50 + 1000) = 185 → 92.50 a deal; 2 deals in 181/365 years = 4.03 a year;
    # value 185 × 365/181 × 2 = 746.13.
    assert rows["Xylo"][4:] == ["92.50", "4.03", "746.13"]
    assert rows["Yew"][4:] == ["50.00", "2.02", "201.66"]
    # The export is the same ranking (numbers stay numbers).
    response = student.post("/reports/customers/export.csv?report=clv&margin=10&years=2&from=2030-01-01&lang=en",
                            data={"csrf_token": helpers.csrf_token(page)})
    body = response.data.decode("utf-8-sig").splitlines()
    assert body[1:3] == ["Xylo,1,2,1,92.50,4.03,746.13", "Yew,2,1,0,50.00,2.02,201.66"]


def test_exports_are_the_tables_and_are_logged(app: Flask, classroom: Any, book: dict) -> None:
    student = classroom.client_for(app, "studentA")
    page = helpers.text(student.get("/reports/customers?lang=en"))
    token = helpers.csrf_token(page)
    response = student.post("/reports/customers/export.csv?report=rfm&lang=en", data={"csrf_token": token})
    assert response.status_code == 200
    body = response.data.decode("utf-8-sig")
    assert "Acme,2030-06-20,10,3,4500.00,5,5,4,Important value" in body
    assert "Other Class Co" not in body and "Peer Co" not in body
    response = student.post("/reports/customers/export.xlsx?report=clv&margin=10&lang=en", data={"csrf_token": token})
    assert response.status_code == 200 and response.data[:2] == b"PK"
    assert [e.params["report"] for e in helpers.entries("report.export")] == ["customers.rfm", "customers.clv"]


# ---- saving a segment as a tag ------------------------------------------------------------------------------
def _save(client: Any, segment: str, tag: str = "", query: str = "") -> Any:
    page = helpers.text(client.get(f"/reports/customers?{query}"))
    return client.post(f"/reports/customers/segments?{query}",
                        data={"csrf_token": helpers.csrf_token(page), "segment": segment, "tag": tag})


def test_saving_a_segment_tags_its_accounts_logged_once_each_and_idempotent(app: Flask, classroom: Any,
                                                                           book: dict) -> None:
    from sandbox.accounts.models import Account

    student = classroom.client_for(app, "studentA")
    response = _save(student, "important_retention", "VIP")
    assert response.status_code == 302
    assert helpers.fresh(book["Cedar"]).tags == "VIP"
    assert all(helpers.fresh(book[n]).tags is None for n in ("Acme", "Birch", "Dune", "Elm"))
    saves = helpers.entries("segment.save")
    assert len(saves) == 1
    assert saves[0].params["segment"] == "important_retention" and saves[0].params["tag"] == "VIP"
    assert saves[0].params["count"] == 1 and saves[0].object_type == "segment" and saves[0].object_id == 3
    updates = helpers.entries("account.update")
    assert [e.object_id for e in updates] == [book["Cedar"].id]
    assert updates[0].request_id == saves[0].request_id  # one request, one operation around the changes
    # Saving again adds nothing (the tag is there once) and says so; the save itself is logged again.
    response = _save(student, "important_retention", "VIP")
    assert response.status_code == 302
    assert helpers.fresh(book["Cedar"]).tags == "VIP"
    assert [e.params["count"] for e in helpers.entries("segment.save")] == [1, 0]
    assert len(helpers.entries("account.update")) == 1
    # The default tag is the segment's name in the reader's language, added after the existing tags.
    assert _save(student, "important_retention", query="lang=zh_Hans_CN").status_code == 302
    assert helpers.fresh(book["Cedar"]).tags == "VIP, RFM:重要保持客户"
    assert helpers.count(Account, Account.tags.is_not(None), skip_visibility=True) == 1
    log = helpers.text(student.get("/log/?lang=en"))
    assert "saved the customer segment Important retention as the tag VIP on 1 accounts" in log


def test_a_segment_objective_counts_the_save(app: Flask, classroom: Any, book: dict) -> None:
    """`log_count` with `verb: segment.save` is a valid objective check (the scenario validator knows the verb)."""
    from seed.checks import _log_count_check
    from seed.schema import LogCount

    check = LogCount(kind="log_count", verb="segment.save")
    assert list(_log_count_check("objectives[0].check", check, {})) == []
    student = classroom.client_for(app, "studentA")
    _save(student, "important_value", "A")
    _save(student, "important_value", "B")
    _save(student, "general_winback", "C")
    subjects = {(e.object_type, e.object_id) for e in helpers.entries("segment.save")}
    assert subjects == {("segment", 1), ("segment", 8)}  # two distinct segments saved


def test_an_observer_cannot_save_and_bad_tags_are_told(app: Flask, classroom: Any, book: dict,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    observer = classroom.client_for(app, "readonlyA")
    page = helpers.text(observer.get("/reports/customers"))
    assert "save-segment-" not in page
    response = observer.post("/reports/customers/segments", data={"csrf_token": helpers.csrf_token(page),
                                                                  "segment": "important_value", "tag": "X"})
    assert response.status_code == 403
    student = classroom.client_for(app, "studentA")
    for tag, message in (("a,b", "cannot contain a comma"), ("x" * 61, "at most 60")):
        response = _save(student, "important_value", tag, "lang=en")
        assert response.status_code == 400
        assert message in helpers.text(response) and 'data-testid="tag-error"' in helpers.text(response)
    from sandbox.reports import customers

    cap = customers.SAVE_CAP
    monkeypatch.setattr(customers, "SAVE_CAP", 0)  # too many accounts at once: narrow first
    response = _save(student, "important_value", "X", "lang=en")
    assert response.status_code == 400 and "narrow it with the filters" in helpers.text(response)
    monkeypatch.setattr(customers, "SAVE_CAP", cap)
    response = _save(student, "loyal", "X", "lang=en")
    assert response.status_code == 400 and "not one of the choices" in helpers.text(response)
    assert helpers.entries("segment.save") == [] and helpers.entries("account.update") == []
    assert helpers.fresh(book["Acme"]).tags is None


def test_a_manager_tags_only_what_they_may_write(app: Flask, classroom: Any, book: dict) -> None:
    from sandbox.access import can_write, viewer_for

    manager = classroom.client_for(app, "managerA")
    # Segments are relative to the accounts analysed: narrowed to studentA's deals, Acme is important value.
    response = _save(manager, "important_value", "M", f"owner={classroom.user('studentA').id}")
    assert response.status_code == 302
    acme = helpers.fresh(book["Acme"])
    writable = can_write(acme, viewer_for(classroom.user("managerA")))
    assert (acme.tags == "M") is writable
    assert helpers.entries("segment.save")[0].params["count"] == (1 if writable else 0)


@pytest.mark.parametrize("query", ["", "report=clv", "report=clv&margin=-1", "segment=loyal", "segment=general_winback"])
def test_every_view_renders_in_chinese(app: Flask, classroom: Any, book: dict, query: str) -> None:
    """Translations with a stray % break a page only in Chinese: render each view in both languages."""
    student = classroom.client_for(app, "studentA")
    for lang in ("zh_Hans_CN", "en"):
        response = student.get(f"/reports/customers?{query}&lang={lang}")
        assert response.status_code in (200, 400)
    page = helpers.text(student.get("/reports/customers?lang=zh_Hans_CN"))
    assert "重要价值客户" in page and "一般挽留客户" in page


def test_a_scenario_objective_grades_distinct_segments_saved(app: Flask, classroom: Any, book: dict) -> None:
    """The example objective of the report: `log_count` of `segment.save`, two distinct segments."""
    from tests.test_objectives import SALES_BASICS, make_run, outcome

    objective = """  - id: save-segments
    title: {zh: 把两个客户分群保存为标签, en: "Save two RFM segments as tags"}
    points: 10
    check: {kind: log_count, verb: segment.save, count: 2}
"""
    head, tail = SALES_BASICS.split("\ndefault_deadline:")
    run = make_run(classroom, text=f"{head.rstrip()}\n{objective}\ndefault_deadline:{tail}")
    student = classroom.user("studentA")
    client = classroom.client_for(app, "studentA")
    _save(client, "important_value", "A")
    _save(client, "important_value", "B")  # the same segment again: still one
    assert outcome(run, student, "save-segments").done == 1
    _save(client, "general_winback", "C")
    assert outcome(run, student, "save-segments").done == 2
    assert outcome(run, classroom.user("peerA"), "save-segments").done == 0
