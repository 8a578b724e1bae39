"""The report families of SPEC §6 (accounts & contacts, sales, leads, competitors, days in stage):
exact numbers on small hand-built data, the drill-down rows behind a number, bad input."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, update

from sandbox.clock import utcnow
from sandbox.extensions import db
from tests import helpers


def cell(html: str) -> str:
    """A table cell's text (English money is written CN¥; the tests write ¥)."""
    return re.sub(r"<[^>]+>", "", html).strip().replace("CN¥", "¥")


def table(page: str) -> dict[str, list[str]]:
    """Report table rows: key -> cell texts (group label first)."""
    rows = re.findall(r'<tr data-key="([^"]+)">(.*?)</tr>', page, re.S)
    return {key: [cell(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)] for key, body in rows}


def totals(page: str) -> list[str]:
    """The total row's cells."""
    row = page.split('data-testid="report-total"', 1)[1].split("</tr>", 1)[0]
    return [cell(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def drills(page: str) -> dict[str, str]:
    """Report table rows: key -> drill-down URL."""
    out = {}
    for key, body in re.findall(r'<tr data-key="([^"]+)">(.*?)</tr>', page, re.S):
        found = re.search(r'href="([^"]+)" data-testid="drill"', body)
        if found:
            out[key] = found.group(1).replace("&amp;", "&")
    return out


def listed(client: Any, url: str, kind: str) -> set[int]:
    """Record ids a list page shows."""
    page = helpers.text(client.get(url))
    assert 'data-testid="record-table"' in page, page[:2000]
    body = page.split('data-testid="record-table"', 1)[1]
    return {int(i) for i in re.findall(rf'href="/{kind}/(\d+)"', body)}


def report(client: Any, path: str) -> str:
    """A report page in English (asserting it answered 200)."""
    response = client.get(f"{path}{'&' if '?' in path else '?'}lang=en")
    assert response.status_code == 200, helpers.text(response)[:3000]
    return helpers.text(response)


def backdate(model: Any, ids: list[int], **values: Any) -> None:
    """Test setup: set timestamps no service sets (a Core UPDATE, outside any operation)."""
    db.session.execute(update(model).where(model.id.in_(ids)).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.commit()


# ---- accounts & contacts ------------------------------------------------------------------------------
@pytest.fixture
def accounts(classroom: Any, create_account: Any) -> dict[str, Any]:
    """Accounts of studentA (2), peerA, studentA2 (class A), studentB and studentC (other classes)."""
    u = classroom.user
    made = {}
    for owner, name, fields in (
        ("studentA", "A gold", {"industry": "retail", "level": "gold", "source": "web", "ownership": "private"}),
        ("studentA", "A silver", {"industry": "it", "level": "silver", "source": "web", "ownership": "state"}),
        ("peerA", "Peer shop", {"industry": "retail", "level": "gold", "source": "phone"}),
        ("studentA2", "A2 bank", {"industry": "finance", "level": "normal", "source": "web"}),
        ("studentB", "B shop", {"industry": "retail", "level": "gold", "source": "web"}),
        ("studentC", "C shop", {"industry": "retail", "level": "gold", "source": "web"}),
    ):
        made[name] = create_account(u(owner), name=name, **fields)
    return made


def test_my_accounts_counts_only_mine_by_industry(app: Flask, classroom: Any, accounts: dict) -> None:
    student = classroom.client_for(app, "studentA")
    page = report(student, "/reports/accounts?report=mine&by=industry")
    rows = table(page)
    assert {k: v[1] for k, v in rows.items()} == {"retail": "1", "it": "1"}
    assert rows["retail"][0] == "Retail" and totals(page)[1] == "2"
    # The instructor sees the whole class, but "my accounts" are still only the viewer's own: none.
    page = report(classroom.client_for(app, "teacher"), "/reports/accounts?report=mine&by=industry")
    assert table(page) == {}


def test_accounts_attributes_by_each_field(app: Flask, classroom: Any, accounts: dict) -> None:
    teacher = classroom.client_for(app, "teacher")
    class_a = classroom.classes["A"].id
    expected = {
        "level": {"gold": "2", "silver": "1", "normal": "1"},
        "source": {"web": "3", "phone": "1"},
        "industry": {"retail": "2", "it": "1", "finance": "1"},
        "ownership": {"private": "1", "state": "1", "~": "2"},
    }
    for by, counts in expected.items():
        page = report(teacher, f"/reports/accounts?report=attributes&by={by}&class={class_a}")
        assert {k: v[1] for k, v in table(page).items()} == counts, by
    page = report(teacher, f"/reports/accounts?report=attributes&by=ownership&class={class_a}")
    assert table(page)["~"][0] == "(none)"


def test_accounts_by_owner_and_drill_down(app: Flask, classroom: Any, accounts: dict) -> None:
    teacher = classroom.client_for(app, "teacher")
    class_a = classroom.classes["A"].id
    page = report(teacher, f"/reports/accounts?report=by_owner&by=owner&class={class_a}")
    rows = table(page)
    u = classroom.user
    assert {k: v[1] for k, v in rows.items()} == {
        str(u("studentA").id): "2", str(u("peerA").id): "1", str(u("studentA2").id): "1"}
    assert list(rows)[0] == str(u("studentA").id)  # the biggest first
    link = drills(page)[str(u("studentA").id)]
    assert listed(teacher, link, "accounts") == {accounts["A gold"].id, accounts["A silver"].id}
    page = report(teacher, f"/reports/accounts?report=by_owner&by=department&class={class_a}")
    departments = classroom.departments
    assert {k: v[1] for k, v in table(page).items()} == {str(departments["A1"].id): "3", str(departments["A2"].id): "1"}
    link = drills(page)[str(departments["A1"].id)]
    assert listed(teacher, link, "accounts") == {accounts[n].id for n in ("A gold", "A silver", "Peer shop")}


def test_neglected_accounts(app: Flask, classroom: Any, accounts: dict, create_activity: Any,
                            create_contact: Any) -> None:
    from sandbox.accounts.models import Account
    from sandbox.activities.models import Activity

    backdate(Account, [a.id for a in accounts.values()], created_at=utcnow() - timedelta(days=90))
    u = classroom.user
    today = utcnow().date()
    # A gold: a task about the account itself; A silver: a call with one of its contacts.
    create_activity(u("studentA"), subject="Visit", related_type="account", related_id=accounts["A gold"].id,
                    due_date=today)
    contact = create_contact(u("studentA"), name="Wang", account_id=accounts["A silver"].id)
    create_activity(u("studentA"), subject="Call", related_type="contact", related_id=contact.id, due_date=today)
    # Peer shop: one activity, but 45 days old: neglected at 30 days, not at 60.
    old = create_activity(u("peerA"), subject="Old call", related_type="account", related_id=accounts["Peer shop"].id,
                          due_date=today - timedelta(days=45))
    backdate(Activity, [old.id], created_at=utcnow() - timedelta(days=45), updated_at=utcnow() - timedelta(days=45))
    teacher = classroom.client_for(app, "teacher")
    class_a = classroom.classes["A"].id
    page = report(teacher, f"/reports/accounts?report=neglected&by=owner&class={class_a}")
    assert {k: v[1] for k, v in table(page).items()} == {str(u("peerA").id): "1", str(u("studentA2").id): "1"}
    page = report(teacher, f"/reports/accounts?report=neglected&by=owner&class={class_a}&days=60")
    assert {k: v[1] for k, v in table(page).items()} == {str(u("studentA2").id): "1"}
    # An account created within the N days is not neglected yet.
    page = report(teacher, f"/reports/accounts?report=neglected&by=owner&class={class_a}&days=120")
    assert table(page) == {}
    link = drills(report(teacher, f"/reports/accounts?report=neglected&by=class&class={class_a}"))[str(class_a)]
    assert listed(teacher, link, "accounts") == {accounts["Peer shop"].id, accounts["A2 bank"].id}


def test_new_accounts_and_growth_by_month(app: Flask, classroom: Any, accounts: dict) -> None:
    from sandbox.accounts.models import Account

    student = classroom.client_for(app, "studentA")
    backdate(Account, [accounts["A silver"].id], created_at=utcnow() - timedelta(days=40))
    page = report(student, "/reports/accounts?report=new&by=owner")
    assert [v[1] for v in table(page).values()] == ["1"]
    page = report(student, "/reports/accounts?report=new&by=owner&days=41")
    assert [v[1] for v in table(page).values()] == ["2"]
    # Growth: January and March 2025, with an empty February kept on the time axis.
    backdate(Account, [accounts["A gold"].id], created_at=datetime(2025, 1, 15, 3, 0))
    backdate(Account, [accounts["A silver"].id], created_at=datetime(2025, 3, 31, 17, 0))  # 1 April in Shanghai
    page = report(student, "/reports/accounts?report=growth")
    assert {k: v[1] for k, v in table(page).items()} == {"2025-01": "1", "2025-02": "0", "2025-03": "0", "2025-04": "1"}
    assert 'data-key="2025-02"' in page and '"type": "line"' in page


def test_contact_methods(app: Flask, classroom: Any, accounts: dict, create_contact: Any) -> None:
    u = classroom.user
    for owner, method in (("studentA", "phone"), ("studentA", "phone"), ("studentA", "wechat"),
                          ("studentA", None), ("studentB", "wechat")):
        create_contact(u(owner), name=f"{owner} {method}", contact_method=method)
    page = report(classroom.client_for(app, "studentA"), "/reports/accounts?report=contact_methods")
    assert {k: (v[0], v[1]) for k, v in table(page).items()} == {
        "phone": ("Phone", "2"), "wechat": ("WeChat", "1"), "~": ("(none)", "1")}
    assert totals(page)[1] == "4"


# ---- opportunities: days in stage ---------------------------------------------------------------------
def _history(opp_id: int, moves: list[tuple[str | None, str, datetime]]) -> None:
    """Replace an opportunity's stage history by these moves (test setup, Core statements)."""
    from sqlalchemy import delete

    from sandbox.opportunities.models import StageHistory

    db.session.execute(delete(StageHistory).where(StageHistory.opportunity_id == opp_id))
    db.session.execute(insert(StageHistory), [
        {"opportunity_id": opp_id, "from_stage": before, "to_stage": after, "changed_at": at}
        for before, after, at in moves])
    db.session.commit()


def test_days_in_stage_exact_and_drill_down(app: Flask, classroom: Any, create_opportunity: Any) -> None:
    u = classroom.user
    t0 = datetime(2030, 1, 1, 8, 0)
    day = timedelta(days=1)
    x = create_opportunity(u("studentA"), name="X", stage="closed_won", amount=Decimal(10))
    y = create_opportunity(u("studentA"), name="Y", stage="closed_lost", lost_reason="price", amount=Decimal(10))
    b = create_opportunity(u("studentB"), name="B", stage="closed_won", amount=Decimal(10))
    _history(x.id, [(None, "prospecting", t0), ("prospecting", "qualification", t0 + 2 * day),
                    ("qualification", "proposal", t0 + 5 * day), ("proposal", "closed_won", t0 + 10 * day)])
    _history(y.id, [(None, "prospecting", t0), ("prospecting", "qualification", t0 + 4 * day),
                    ("qualification", "closed_lost", t0 + 5 * day + day / 2)])
    _history(b.id, [(None, "prospecting", t0), ("prospecting", "closed_won", t0 + 100 * day)])
    student = classroom.client_for(app, "studentA")
    page = report(student, "/reports/opportunities?report=days_in_stage")
    rows = table(page)
    assert {k: v[1:] for k, v in rows.items()} == {
        "prospecting": ["3.0 days", "2"], "qualification": ["2.2 days", "2"], "proposal": ["5.0 days", "1"]}
    assert list(rows) == ["prospecting", "qualification", "proposal"]  # the stages' order, closed ones left out
    assert totals(page)[1:] == ["3.1 days", "2"]  # (2 + 3 + 5 + 4 + 1.5) / 5
    links = drills(page)
    assert listed(student, links["qualification"], "opportunities") == {x.id, y.id}
    assert listed(student, links["proposal"], "opportunities") == {x.id}
    # The instructor sees class B's opportunity too: its 100 days weigh on prospecting only there.
    teacher = classroom.client_for(app, "teacher")
    page = report(teacher, f"/reports/opportunities?report=days_in_stage&class={classroom.classes['A'].id}")
    assert table(page)["prospecting"][1:] == ["3.0 days", "2"]
    page = report(teacher, "/reports/opportunities?report=days_in_stage")
    assert table(page)["prospecting"][1:] == ["35.3 days", "3"]


def test_days_in_stage_counts_an_open_stage_up_to_now(app: Flask, classroom: Any, create_opportunity: Any) -> None:
    u = classroom.user
    z = create_opportunity(u("studentA"), name="Z", stage="proposal", amount=Decimal(10))
    _history(z.id, [(None, "proposal", utcnow() - timedelta(days=4, hours=12))])
    page = report(classroom.client_for(app, "studentA"), "/reports/opportunities?report=days_in_stage")
    assert table(page)["proposal"][1:] == ["4.5 days", "1"]


# ---- sales ----------------------------------------------------------------------------------------------
def set_fiscal_start(month: int) -> None:
    """The organisation profile's fiscal year start (test setup)."""
    from sqlalchemy import select

    from sandbox.org.models import Organization

    if db.session.scalar(select(Organization.id).limit(1)) is None:
        db.session.execute(insert(Organization).values(name="Org", fiscal_year_start=month))
    else:
        db.session.execute(update(Organization).values(fiscal_year_start=month))
    db.session.commit()


@pytest.fixture
def sales(classroom: Any, create_opportunity: Any) -> dict[str, Any]:
    """Won and lost deals of class A (and class B) around fiscal quarter boundaries."""
    u = classroom.user
    made = {}
    for owner, name, stage, amount, closed in (
        ("studentA", "A Mar", "closed_won", 1000, date(2030, 3, 31)),
        ("studentA", "A Apr", "closed_won", 500, date(2030, 4, 1)),
        ("studentA", "A lost", "closed_lost", 300, date(2030, 2, 11)),
        ("studentA", "A open", "proposal", 700, date(2030, 2, 11)),
        ("peerA", "Peer Jan", "closed_won", 200, date(2030, 1, 1)),
        ("studentA2", "A2 Feb", "closed_won", 400, date(2030, 2, 20)),
        ("studentB", "B Feb", "closed_won", 9000, date(2030, 2, 20)),
    ):
        extra = {"lost_reason": "price"} if stage == "closed_lost" else {}
        made[name] = create_opportunity(u(owner), name=name, stage=stage, amount=Decimal(amount), close_date=closed,
                                        **extra)
    return made


def add_quota(owner: Any, year: int, quarter: int, amount: int) -> None:
    """A quota row (test setup; the forecasts pages set quotas through their service)."""
    from sandbox.forecasts.models import Quota

    now = utcnow()
    db.session.execute(insert(Quota).values(owner_id=owner.id, class_id=owner.class_id, created_by_id=owner.id,
                                            created_at=now, updated_at=now, version=1, fiscal_year=year,
                                            quarter=quarter, amount=Decimal(amount)))
    db.session.commit()


def test_closed_sales_by_quarter_with_a_fiscal_year_starting_in_april(app: Flask, classroom: Any, sales: dict) -> None:
    teacher = classroom.client_for(app, "teacher")
    class_a = classroom.classes["A"].id
    page = report(teacher, f"/reports/sales?report=closed&by=quarter&class={class_a}")
    assert {k: (v[0], v[1], v[2]) for k, v in table(page).items()} == {
        "2030-Q1": ("FY2030 Q1", "¥1,600.00", "3"), "2030-Q2": ("FY2030 Q2", "¥500.00", "1")}
    set_fiscal_start(4)
    page = report(teacher, f"/reports/sales?report=closed&by=quarter&class={class_a}")
    # 31 March 2030 closes FY2029 (April 2029 – March 2030); 1 April 2030 opens FY2030.
    assert {k: (v[0], v[1], v[2]) for k, v in table(page).items()} == {
        "2029-Q4": ("FY2029 Q4", "¥1,600.00", "3"), "2030-Q1": ("FY2030 Q1", "¥500.00", "1")}
    link = drills(page)["2029-Q4"]
    assert listed(teacher, link, "opportunities") == {sales[n].id for n in ("A Mar", "Peer Jan", "A2 Feb")}
    page = report(teacher, f"/reports/sales?report=closed&by=month&class={class_a}")
    assert {k: v[1] for k, v in table(page).items()} == {
        "2030-01": "¥200.00", "2030-02": "¥400.00", "2030-03": "¥1,000.00", "2030-04": "¥500.00"}


def test_sales_by_user_and_department_roll_up(app: Flask, classroom: Any, sales: dict) -> None:
    u, departments = classroom.user, classroom.departments
    manager = classroom.client_for(app, "managerA")
    page = report(manager, "/reports/sales?report=by_user")
    rows = table(page)
    assert rows[str(u("studentA").id)][1:] == ["¥1,500.00", "2", "¥750.00"]
    assert rows[str(u("peerA").id)][1:] == ["¥200.00", "1", "¥200.00"]
    assert str(u("studentA2").id) not in rows  # another department: not the manager's
    assert totals(page)[1:] == ["¥1,700.00", "3", "¥566.67"]
    teacher = classroom.client_for(app, "teacher")
    page = report(teacher, f"/reports/sales?report=departments&class={classroom.classes['A'].id}")
    assert {k: v[1:] for k, v in table(page).items()} == {
        str(departments["A1"].id): ["¥1,700.00", "3"], str(departments["A2"].id): ["¥400.00", "1"]}
    page = report(teacher, f"/reports/sales?report=departments&department={departments['A1'].id}&by=owner")
    assert {k: v[1] for k, v in table(page).items()} == {str(u("studentA").id): "¥1,500.00",
                                                        str(u("peerA").id): "¥200.00"}


def test_sales_against_quota(app: Flask, classroom: Any, sales: dict) -> None:
    u, departments = classroom.user, classroom.departments
    add_quota(u("studentA"), 2030, 1, 2000)
    add_quota(u("peerA"), 2030, 1, 1000)
    add_quota(u("studentA2"), 2030, 1, 400)
    add_quota(u("studentB"), 2030, 1, 5000)
    add_quota(u("studentA"), 2030, 2, 99999)  # another quarter
    manager = classroom.client_for(app, "managerA")
    page = report(manager, "/reports/sales?report=quota&quarter=2030-Q1")
    assert {k: v[1:] for k, v in table(page).items()} == {
        str(u("studentA").id): ["50.0 %", "¥1,000.00", "¥2,000.00"],
        str(u("peerA").id): ["20.0 %", "¥200.00", "¥1,000.00"]}
    assert totals(page)[1:] == ["40.0 %", "¥1,200.00", "¥3,000.00"]
    # A salesperson reads their own quota, never a classmate's.
    page = report(classroom.client_for(app, "studentA"), "/reports/sales?report=quota&quarter=2030-Q1")
    assert {k: v[1:] for k, v in table(page).items()} == {str(u("studentA").id): ["50.0 %", "¥1,000.00", "¥2,000.00"]}
    teacher = classroom.client_for(app, "teacher")
    page = report(teacher, f"/reports/sales?report=quota&quarter=2030-Q1&by=department&class={classroom.classes['A'].id}")
    assert {k: v[1:] for k, v in table(page).items()} == {
        str(departments["A1"].id): ["40.0 %", "¥1,200.00", "¥3,000.00"],
        str(departments["A2"].id): ["100.0 %", "¥400.00", "¥400.00"]}
    link = drills(page)[str(departments["A1"].id)]
    assert listed(teacher, link, "opportunities") == {sales["A Mar"].id, sales["Peer Jan"].id}
    # The April-start year: FY2030 Q1 is April–June 2030, where only "A Apr" closed.
    set_fiscal_start(4)
    page = report(manager, "/reports/sales?report=quota&quarter=2030-Q1")
    assert table(page)[str(u("studentA").id)][1:] == ["25.0 %", "¥500.00", "¥2,000.00"]


def test_quota_report_defaults_to_the_current_quarter(app: Flask, classroom: Any) -> None:
    from sandbox.clock import today
    from sandbox.fiscal import quarter_of

    current = quarter_of(today())
    add_quota(classroom.user("studentA"), current.year, current.quarter, 100)
    page = report(classroom.client_for(app, "studentA"), "/reports/sales?report=quota")
    assert f'value="{current.key}"' in page
    assert table(page)[str(classroom.user("studentA").id)][1:] == ["0.0 %", "¥0.00", "¥100.00"]
