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


def table(page: str) -> dict[str, list[str]]:
    """Report table rows: key -> cell texts (group label first)."""
    rows = re.findall(r'<tr data-key="([^"]+)">(.*?)</tr>', page, re.S)
    return {key: [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
            for key, body in rows}


def totals(page: str) -> list[str]:
    """The total row's cells."""
    row = page.split('data-testid="report-total"', 1)[1].split("</tr>", 1)[0]
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


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
