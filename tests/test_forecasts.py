"""Quotas and forecasts (issue 10): fiscal quarters, categories, exact roll-ups, quota permissions, submissions."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from sandbox.extensions import db
from sandbox.fiscal import Quarter, parse_quarter, quarter_of
from sandbox.forecasts.categories import BEST_CASE, CLOSED, COMMIT, OMITTED, PIPELINE, effective
from sandbox.forecasts.models import ForecastSubmission, Quota
from sandbox.oplog import LogEntry
from tests import helpers
from tests.conftest import act_as

Q = "2030-Q1"


@pytest.fixture
def deals(classroom: Any, create_opportunity: Any) -> dict[str, Any]:
    """Opportunities closing in 2030-Q1 (and one just after) of studentA, peerA, studentA2 and studentB."""
    u = classroom.user
    made = {}
    for owner, name, stage, amount, day, category in (
        ("studentA", "A won", "closed_won", 1000, date(2030, 1, 10), None),
        ("studentA", "A negotiation", "negotiation", 500, date(2030, 2, 1), None),      # commit (80 %)
        ("studentA", "A proposal", "proposal", 300, date(2030, 3, 31), None),           # best case (65 %)
        ("studentA", "A prospect", "prospecting", 200, date(2030, 3, 1), None),         # pipeline (10 %)
        ("studentA", "A forced commit", "prospecting", 50, date(2030, 3, 2), "commit"),  # its own category
        ("studentA", "A omitted", "negotiation", 999, date(2030, 3, 3), "omitted"),
        ("studentA", "A lost", "closed_lost", 400, date(2030, 1, 5), None),
        ("studentA", "A next quarter", "negotiation", 7000, date(2030, 4, 1), None),
        ("peerA", "peer won", "closed_won", 300, date(2030, 3, 31), None),
        ("peerA", "peer best", "value_proposition", 120, date(2030, 2, 2), None),       # best case (50 %)
        ("studentA2", "A2 won", "closed_won", 70, date(2030, 2, 2), None),
        ("studentB", "B won", "closed_won", 8888, date(2030, 2, 2), None),
    ):
        fields: dict[str, Any] = {"lost_reason": "price"} if stage == "closed_lost" else {}
        if category:
            fields["forecast_category"] = category
        made[name] = create_opportunity(u(owner), name=name, stage=stage, amount=Decimal(amount), close_date=day,
                                        **fields)
    return made


def _quota(classroom: Any, setter: str, user: str, quarter: str, amount: str) -> Quota:
    from sandbox.forecasts.services import set_quota

    act_as(classroom.user(setter))
    quota = set_quota(classroom.user(user), parse_quarter(quarter), Decimal(amount))
    db.session.commit()
    act_as(None)
    return quota


def _figures(page: str) -> dict[str, str]:
    import re

    return {k: v.replace("CN¥", "¥") for k, v in re.findall(r'data-testid="figure-([a-z_]+)">([^<]*)<', page)}


def _team(page: str) -> dict[str, list[str]]:
    import re

    table = page[page.index('data-testid="forecast-team"'):]
    rows = re.findall(r'<tr[^>]*data-key="([^"]+)">(.*?)</tr>', table, re.S)
    return {key: [re.sub(r"<[^>]+>", "", c).strip().replace("CN¥", "¥") for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
            for key, body in rows}


# ---- fiscal quarters --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "start", "key"), [
    (date(2026, 3, 31), 1, "2026-Q1"), (date(2026, 4, 1), 1, "2026-Q2"), (date(2026, 12, 31), 1, "2026-Q4"),
    (date(2026, 3, 31), 4, "2025-Q4"), (date(2026, 4, 1), 4, "2026-Q1"), (date(2026, 6, 30), 4, "2026-Q1"),
    (date(2026, 7, 1), 4, "2026-Q2"), (date(2027, 1, 1), 4, "2026-Q4"), (date(2027, 3, 31), 4, "2026-Q4"),
])
def test_quarter_of_respects_the_fiscal_year_start(day: date, start: int, key: str) -> None:
    assert quarter_of(day, start).key == key


def test_quarter_days_with_an_april_fiscal_year() -> None:
    q4 = Quarter(2026, 4, 4)
    assert (q4.first_day, q4.last_day, q4.end) == (date(2027, 1, 1), date(2027, 3, 31), date(2027, 4, 1))
    assert q4.next() == Quarter(2027, 1, 4) and q4.next().first_day == date(2027, 4, 1)
    assert date(2027, 3, 31) in q4 and date(2027, 4, 1) not in q4


def test_the_page_uses_the_organisation_fiscal_year(app: Flask, classroom: Any, create_opportunity: Any) -> None:
    from sandbox.org.services import get_organization, update_organization

    admin = classroom.user("admin")
    act_as(admin)
    org = get_organization()
    update_organization(admin, {"name": org.name or "Org", "address": None, "phone": None, "fiscal_year_start": 4,
                                "currency": "CNY", "default_language": "zh_Hans_CN"})
    db.session.commit()
    act_as(None)
    student = classroom.user("studentA")
    create_opportunity(student, name="March", stage="closed_won", amount=Decimal(100), close_date=date(2031, 3, 31))
    create_opportunity(student, name="April", stage="closed_won", amount=Decimal(40), close_date=date(2031, 4, 1))
    client = classroom.client_for(app, "studentA")
    # FY2030 runs April 2030 – March 2031: March 2031 is its Q4, April 2031 opens FY2031.
    assert _figures(helpers.text(client.get("/forecasts/?quarter=2030-Q4&lang=en")))["closed_won"] == "¥100.00"
    page = helpers.text(client.get("/forecasts/?quarter=2031-Q1&lang=en"))
    assert _figures(page)["closed_won"] == "¥40.00"
    assert "2031-04-01 – 2031-06-30" in page


# ---- categories ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("stage", "category", "probability", "expected"), [
    ("closed_won", "omitted", 100, CLOSED), ("closed_lost", "commit", 0, OMITTED),
    ("negotiation", None, 80, COMMIT), ("proposal", None, 65, BEST_CASE), ("value_proposition", None, 50, BEST_CASE),
    ("needs_analysis", None, 30, PIPELINE), ("prospecting", "commit", 10, COMMIT), ("negotiation", "omitted", 80, OMITTED),
])
def test_the_category_follows_the_stage_unless_set(app: Flask, stage: str, category: str | None, probability: int,
                                                   expected: str) -> None:
    with app.test_request_context():
        assert effective(stage, category, probability) == expected


def test_the_opportunity_form_sets_and_clears_the_category(app: Flask, classroom: Any, create_opportunity: Any) -> None:
    opp = create_opportunity(classroom.user("studentA"), name="Deal", stage="prospecting", amount=Decimal(10),
                             close_date=date(2030, 1, 1))
    client = classroom.client_for(app, "studentA")
    form = {"name": "Deal", "stage": "prospecting", "amount": "10", "close_date": "2030-01-01",
            "version": str(opp.version)}
    assert client.post(f"/opportunities/{opp.id}/edit", data={**form, "forecast_category": "commit"}).status_code == 302
    assert helpers.fresh(opp).forecast_category == "commit"
    page = helpers.text(client.get(f"/opportunities/{opp.id}?lang=en"))
    assert "Counts in the forecast as: <strong>Commit</strong>" in page
    bad = client.post(f"/opportunities/{opp.id}/edit", data={**form, "forecast_category": "maybe",
                                                            "version": str(helpers.fresh(opp).version)})
    assert bad.status_code == 400 and helpers.fresh(opp).forecast_category == "commit"
    ok = client.post(f"/opportunities/{opp.id}/edit", data={**form, "forecast_category": "",
                                                           "version": str(helpers.fresh(opp).version)})
    assert ok.status_code == 302 and helpers.fresh(opp).forecast_category is None
    assert "(from the stage)" in helpers.text(client.get(f"/opportunities/{opp.id}?lang=en"))


# ---- the forecast page ------------------------------------------------------------------------------------

def test_own_figures_are_exact(app: Flask, classroom: Any, deals: dict) -> None:
    _quota(classroom, "managerA", "studentA", Q, "4000")
    client = classroom.client_for(app, "studentA")
    figures = _figures(helpers.text(client.get(f"/forecasts/?quarter={Q}&lang=en")))
    assert figures == {"quota": "¥4,000.00", "closed_won": "¥1,000.00",
                       "commit": "¥1,550.00",      # 1000 won + 500 negotiation + 50 forced commit
                       "best_case": "¥1,850.00",   # + 300 proposal
                       "pipeline": "¥200.00", "quota_percent": "25.0 %", "remaining": "¥3,000.00"}


def test_team_roll_up_is_exact_for_manager_and_instructor(app: Flask, classroom: Any, deals: dict) -> None:
    _quota(classroom, "managerA", "studentA", Q, "4000")
    _quota(classroom, "teacher", "peerA", Q, "200")
    u = classroom.user
    manager = classroom.client_for(app, "managerA")
    rows = _team(helpers.text(manager.get(f"/forecasts/?quarter={Q}&lang=en")))
    assert set(rows) == {str(u("managerA").id), str(u("studentA").id), str(u("peerA").id), "total"}
    assert rows[str(u("peerA").id)][1] == "A1 › Sales"  # the position below the class
    assert rows[str(u("peerA").id)][2:] == ["¥200.00", "¥300.00", "¥300.00", "¥420.00", "¥0.00", "150.0 %", "¥0.00"]
    assert rows["total"][1:] == ["¥4,200.00", "¥1,300.00", "¥1,850.00", "¥2,270.00", "¥200.00", "31.0 %",
                                 "¥2,900.00"]
    teacher = classroom.client_for(app, "teacher")
    class_a = classroom.classes["A"].id
    rows = _team(helpers.text(teacher.get(f"/forecasts/?quarter={Q}&class={class_a}&lang=en")))
    assert str(u("studentA2").id) in rows and str(u("studentB").id) not in rows  # class B is another class
    assert rows["total"][2] == "¥1,370.00"  # 1000 + 300 + 70: studentB's 8,888 never counts in class A
    whole = helpers.text(teacher.get(f"/forecasts/?quarter={Q}&lang=en"))
    assert 'data-testid="forecast-submit"' not in whole  # an instructor sells nothing: the page is the roll-up
    everyone = _team(whole)
    assert everyone["total"][2] == "¥10,258.00"  # both classes of the teacher


def test_drill_down_and_member_pages(app: Flask, classroom: Any, deals: dict) -> None:
    u = classroom.user
    manager = classroom.client_for(app, "managerA")
    page = helpers.text(manager.get(f"/forecasts/?quarter={Q}&lang=en"))
    peer = u("peerA").id
    assert f"/forecasts/?quarter={Q}&amp;user={peer}" in page.replace("&", "&amp;").replace("&amp;amp;", "&amp;")
    listing = helpers.text(manager.get(f"/opportunities/?report=opportunities.won&by=owner&value={peer}"
                                       "&from=2030-01-01&to=2030-03-31"))
    assert "peer won" in listing and "A won" not in listing and "peer best" not in listing
    member = helpers.text(manager.get(f"/forecasts/?quarter={Q}&user={peer}&lang=en"))
    assert _figures(member)["best_case"] == "¥420.00" and "Forecast of Peera" in member
    # Someone the viewer is not above is a 404, as a missing user is.
    assert manager.get(f"/forecasts/?user={u('studentA2').id}").status_code == 404
    assert classroom.client_for(app, "teacher2").get(f"/forecasts/?user={u('studentA').id}").status_code == 404
    assert classroom.client_for(app, "studentA").get(f"/forecasts/?user={peer}").status_code == 404
    assert manager.get("/forecasts/?user=99999999999").status_code == 404


def test_a_student_sees_only_their_own(app: Flask, classroom: Any, deals: dict) -> None:
    page = helpers.text(classroom.client_for(app, "peerA").get(f"/forecasts/?quarter={Q}&lang=en"))
    assert 'data-testid="forecast-team"' not in page
    assert _figures(page)["closed_won"] == "¥300.00" and "A won" not in page


@pytest.mark.parametrize("quarter", ["2030-Q5", "next", "2030-Q0", "99999-Q1"])
def test_a_bad_quarter_is_a_clear_400(app: Flask, classroom: Any, quarter: str) -> None:
    response = classroom.client_for(app, "studentA").get(f"/forecasts/?quarter={quarter}&lang=en")
    assert response.status_code == 400
    assert "YEAR-Q1 … YEAR-Q4" in helpers.text(response)


# ---- quotas --------------------------------------------------------------------------------------------------

def test_quota_permissions(app: Flask, classroom: Any) -> None:
    from sandbox.errors import ServiceError

    for setter, user in (("studentA", "studentA"), ("studentA", "peerA"), ("managerA", "studentA2"),
                         ("teacher2", "studentA"), ("managerA", "managerA")):
        with pytest.raises(ServiceError):
            _quota(classroom, setter, user, Q, "100")
        db.session.rollback()
    assert helpers.count(Quota, skip_visibility=True) == 0
    _quota(classroom, "managerA", "studentA", Q, "100")
    _quota(classroom, "teacher", "studentA2", Q, "200")
    _quota(classroom, "admin", "studentC", Q, "300")
    assert helpers.count(Quota, skip_visibility=True) == 3
    # The student reads their own quota, never a classmate's.
    act_as(classroom.user("peerA"))
    assert helpers.count(Quota) == 0
    act_as(classroom.user("studentA"))
    assert helpers.count(Quota) == 1
    act_as(None)


def test_quota_form_replaces_and_logs(app: Flask, classroom: Any) -> None:
    client = classroom.client_for(app, "managerA")
    for amount in ("5,000", "6000.50"):
        response = client.post("/forecasts/quotas", data={"username": "studentA", "quarter": Q, "amount": amount})
        assert response.status_code == 302
    quotas = list(db.session.scalars(select(Quota).execution_options(skip_visibility=True)))
    assert [(q.fiscal_year, q.quarter, q.amount) for q in quotas] == [(2030, 1, Decimal("6000.50"))]
    logged = helpers.entries("quota.set")
    assert len(logged) == 2 and logged[1].changes["fields"]["amount"] == ["5000.00", "6000.50"]
    page = helpers.text(client.get(f"/forecasts/quotas?quarter={Q}&lang=en"))
    assert "¥6,000.50" in page


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"username": "studentA", "quarter": Q, "amount": "-5"}, "amount", "cannot be negative"),
    ({"username": "studentA", "quarter": Q, "amount": "lots"}, "amount", "as a number"),
    ({"username": "studentA", "quarter": Q, "amount": "1.234"}, "amount", "at most 2 decimals"),
    ({"username": "studentA", "quarter": Q, "amount": "1e30"}, "amount", "too large"),
    ({"username": "nobody", "quarter": Q, "amount": "5"}, "username", "not a salesperson below you"),
    ({"username": "studentA2", "quarter": Q, "amount": "5"}, "username", "not a salesperson below you"),
    ({"username": "studentA", "quarter": "Q3 2030", "amount": "5"}, "quarter", "YEAR-Q1"),
])
def test_quota_form_bad_input(app: Flask, classroom: Any, data: dict, field: str, message: str) -> None:
    client = classroom.client_for(app, "managerA")
    response = client.post("/forecasts/quotas?lang=en", data=data)
    assert response.status_code == 400
    assert message in helpers.field_error(helpers.text(response), field)
    assert helpers.count(Quota, skip_visibility=True) == 0


def test_a_student_without_subordinates_sets_nothing(app: Flask, classroom: Any) -> None:
    client = classroom.client_for(app, "studentA")
    assert 'data-testid="no-subordinates"' in helpers.text(client.get("/forecasts/quotas"))
    response = client.post("/forecasts/quotas?lang=en", data={"username": "studentA", "quarter": Q, "amount": "9"})
    assert response.status_code == 400 and helpers.count(Quota, skip_visibility=True) == 0
    assert classroom.client_for(app, "readonlyA").get("/forecasts/quotas").status_code == 403


def _upload(client: Any, text: str) -> Any:
    return client.post("/forecasts/quotas/import?lang=en", data={"file": (io.BytesIO(text.encode()), "q.csv")},
                       content_type="multipart/form-data")


def test_quota_import_all_or_nothing(app: Flask, classroom: Any) -> None:
    client = classroom.client_for(app, "teacher")
    bad = _upload(client, "username,quarter,amount\nstudentA,2030-Q1,100\npeerA,2030-Q9,5\nstudentC,2030-Q1,5\n"
                          "studentA2,2030-Q1,-1\nstudentA,2030-Q1,7\n")
    page = helpers.text(bad)
    assert bad.status_code == 400
    for problem in ("Row 3: Write the quarter", "Row 4: “studentC” is not a salesperson below you",
                    "Row 5: A quota cannot be negative", "Row 6: studentA already has a quota for 2030-Q1 in row 2"):
        assert problem in page
    assert helpers.count(Quota, skip_visibility=True) == 0
    assert _upload(client, "name,amount\nx,1\n").status_code == 400
    good = _upload(client, "\ufeffusername,quarter,amount\nstudentA,2030-Q1,100\npeerA,2030Q2,\"1,500\"\n")
    assert good.status_code == 302
    rows = {(q.owner_id, q.quarter, q.amount) for q in db.session.scalars(
        select(Quota).execution_options(skip_visibility=True))}
    assert rows == {(classroom.user("studentA").id, 1, Decimal("100.00")),
                    (classroom.user("peerA").id, 2, Decimal("1500.00"))}
    assert len(helpers.entries("quota.set")) == 2


# ---- submitting a forecast ------------------------------------------------------------------------------------

def test_submitting_twice_keeps_one_row_and_logs_both(app: Flask, classroom: Any, deals: dict) -> None:
    client = classroom.client_for(app, "studentA")
    assert client.post("/forecasts/submit", data={"quarter": Q}).status_code == 302
    sub = db.session.scalar(select(ForecastSubmission).execution_options(skip_visibility=True))
    assert (sub.commit, sub.best_case, sub.closed_won, sub.pipeline) == (
        Decimal("1550.00"), Decimal("1850.00"), Decimal("1000.00"), Decimal("200.00"))
    assert {line["name"] for line in sub.detail} >= {"A won", "A negotiation", "A lost"}
    # The deal in negotiation is won, then the forecast is submitted again.
    from sandbox.opportunities.services import change_stage

    act_as(classroom.user("studentA"))
    change_stage(deals["A negotiation"], "closed_won")
    db.session.commit()
    act_as(None)
    response = client.post("/forecasts/submit?lang=en", data={"quarter": Q})
    assert "replaces the earlier one" in helpers.flashed(client, response)
    assert helpers.count(ForecastSubmission, skip_visibility=True) == 1
    assert helpers.fresh(sub).closed_won == Decimal("1500.00")
    logged = helpers.entries("forecast.submit")
    assert [e.params["commit"] for e in logged] == ["1550.00", "1550.00"]
    assert [e.params["closed_won"] for e in logged] == ["1000.00", "1500.00"]
    assert logged[1].changes["fields"]["closed_won"] == ["1000.00", "1500.00"]
    page = helpers.text(client.get(f"/forecasts/?quarter={Q}&lang=en")).replace("CN¥", "¥")
    assert 'data-testid="submitted-commit">¥1,550.00' in page


def test_submission_bad_input(app: Flask, classroom: Any) -> None:
    client = classroom.client_for(app, "studentA")
    # Refusals are flashed on the forecast page the student comes back to.
    assert "YEAR-Q1 … YEAR-Q4" in helpers.flashed(client, client.post("/forecasts/submit?lang=en",
                                                                       data={"quarter": "soon"}))
    assert "submit your forecast again" in helpers.flashed(client, client.post("/forecasts/submit?lang=en", data={}))
    response = client.post("/forecasts/submit?lang=en", data={"quarter": "2001-Q1"})
    assert "2001-Q1 is over" in helpers.flashed(client, response)
    assert helpers.count(ForecastSubmission, skip_visibility=True) == 0
    assert not db.session.scalars(select(LogEntry).where(LogEntry.verb == "forecast.submit")).all()
    assert classroom.client_for(app, "readonlyA").post("/forecasts/submit", data={"quarter": Q}).status_code == 403


def test_the_bench_measures_the_roll_up() -> None:
    from bench import forecasts
    from bench.runner import Measure

    measures, table = forecasts.run(Measure, True, lambda message: None)
    assert [m.name for m in measures] == ["forecasts.rollup_60"]
    m = measures[0]
    assert m.unit == "ms" and m.value > 0 and m.baseline > 0
    assert m.ratio == pytest.approx(m.baseline / m.value, rel=0.01, abs=0.001)
    assert "forecasts.rollup_60" in table


def test_the_log_tells_quotas_and_submissions(app: Flask, classroom: Any, deals: dict) -> None:
    _quota(classroom, "managerA", "studentA", Q, "4000")
    _quota(classroom, "managerA", "studentA", Q, "4500")
    client = classroom.client_for(app, "studentA")
    client.post("/forecasts/submit", data={"quarter": Q})
    page = helpers.text(client.get("/log/?lang=en")).replace("CN¥", "¥")
    assert "submitted the forecast for 2030-Q1: commit ¥1,550.00, best case ¥1,850.00" in page
    assert "Forecast · submit" in page
    manager = helpers.text(classroom.client_for(app, "managerA").get("/log/?lang=en")).replace("CN¥", "¥")
    assert "set the quota of Studenta for 2030-Q1 to ¥4,500.00" in manager and "Quota · set" in manager
    zh = helpers.text(client.get("/log/?lang=zh_Hans_CN"))
    assert "提交了 2030-Q1 的销售预测" in zh


def test_the_cli_imports_quotas_as_a_superior(app: Flask, classroom: Any, tmp_path: Any) -> None:
    good = tmp_path / "quotas.csv"
    good.write_text("username,quarter,amount\nstudentA,2030-Q1,100\nstudentA2,2030-Q1,200\n", encoding="utf-8")
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["forecasts", "import-quotas", str(good), "--user", "managerA"])
    assert refused.exit_code != 0 and "Row 3: “studentA2” is not a salesperson below you" in refused.output
    assert helpers.count(Quota, skip_visibility=True) == 0
    done = runner.invoke(args=["forecasts", "import-quotas", str(good), "--user", "teacher"])
    assert done.exit_code == 0, done.output
    assert "2 quotas set by teacher" in done.output
    assert helpers.count(Quota, skip_visibility=True) == 2
    assert runner.invoke(args=["forecasts", "import-quotas", str(good), "--user", "readonlyA"]).exit_code != 0
