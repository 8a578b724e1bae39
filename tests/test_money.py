"""Money in the scenario's currency, written in the reader's locale; the first product line takes over a
typed amount and says so (SPEC §5.4, §8.2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask_babel import force_locale

from sandbox.accounts.models import Account
from sandbox.extensions import db
from sandbox.money import class_currency, format_money
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.services import create_opportunity
from sandbox.products.models import Product
from sandbox.products.services import create_product
from sandbox.records.services import create_record
from seed import parse_scenario
from seed.loading import SCENARIO_DIR, ScenarioError
from tests.conftest import act_as


def _as(user: Any, fn: Any, *args: Any) -> Any:
    act_as(user)
    result = fn(*args)
    db.session.commit()
    act_as(None)
    return result


def test_format_money_in_each_locale(app):
    """Money is formatted in each locale's style."""
    with app.test_request_context("/"):
        with force_locale("zh_Hans_CN"):
            assert format_money(Decimal("38320")) == "¥38,320.00"
            assert format_money(38320.4, "CNY", whole=True) == "¥38,320"
            assert format_money(Decimal("38320"), "USD") == "US$38,320.00"
        with force_locale("en"):
            assert format_money(Decimal("38320"), "USD") == "$38,320.00"
            assert format_money("1234.5", "USD", whole=True) == "$1,234"
        assert format_money(None) == "" and format_money("") == ""
        assert format_money("n/a") == "n/a"  # never a 500 on a value that is no number


def test_the_english_scenario_is_in_dollars_and_a_bad_currency_is_refused():
    """The English scenario is in US dollars, and an unknown currency is refused."""
    assert parse_scenario((SCENARIO_DIR / "sales-basics-en.yaml").read_text(encoding="utf-8"), "x.yaml").currency == "USD"
    text = (SCENARIO_DIR / "sales-basics.yaml").read_text(encoding="utf-8")
    assert parse_scenario(text, "sales-basics.yaml").currency == "CNY"  # the default
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text + "\ncurrency: DOGE\n", "bad.yaml")
    assert "bad.yaml: currency:" in str(caught.value) and "USD" in str(caught.value)


@pytest.fixture
def dollars(app, classroom) -> Opportunity:
    """Class A runs the English scenario; studentA has an opportunity of 1,000 typed by hand."""
    from sandbox.classroom.runs.services import load_scenario

    act_as(classroom.user("teacher"))
    load_scenario(classroom.classes["A"], "sales-basics-en")
    db.session.commit()
    student = classroom.user("studentA")
    account = _as(student, create_record, Account, {"name": "Lakeside Hotel"})
    return _as(student, create_opportunity, Opportunity, {
        "name": "Hotel tea", "account_id": account.id, "stage": "proposal", "close_date": date(2030, 6, 30),
        "amount": Decimal("1000")})


def test_a_class_shows_money_in_its_scenarios_currency(app, classroom, dollars):
    """A class shows money in its scenario's currency."""
    assert class_currency(classroom.classes["A"].id) == "USD"
    assert class_currency(classroom.classes["B"].id) == "CNY"  # no run yet
    assert class_currency(None) == "CNY"
    client = classroom.client_for(app, "studentA")
    for url in ("/opportunities/?lang=en", f"/opportunities/{dollars.id}?lang=en"):
        page = client.get(url).get_data(as_text=True)
        assert "$1,000.00" in page, url
    assert "$1,000" in client.get("/opportunities/pipeline?lang=en").get_data(as_text=True)


def _product(classroom: Any, price: str) -> Product:
    return _as(classroom.user("teacher"), create_product, Product, {
        "class_id": classroom.classes["A"].id, "code": "TEA-1", "name": "Longjing 250 g",
        "list_price": Decimal(price), "active": True})


def test_the_first_line_says_the_typed_amount_now_follows_the_lines(app, classroom, dollars):
    """The first line tells the user that the typed amount now follows the lines."""
    product = _product(classroom, "19.16")
    client = classroom.client_for(app, "studentA")
    response = client.post(f"/opportunities/{dollars.id}/lines/new?lang=en", follow_redirects=True,
                           data={"product_id": str(product.id), "quantity": "2000", "discount": "0"})
    page = response.get_data(as_text=True)
    assert ("Product TEA-1 Longjing 250 g added. The amount you had entered ($1,000.00) now follows the product "
            "lines: $38,320.00.") in page
    assert "$19.16" in page and "$38,320.00" in page  # unit price and line total
    # The second line: no typed amount any more, only the new amount.
    response = client.post(f"/opportunities/{dollars.id}/lines/new?lang=en", follow_redirects=True,
                           data={"product_id": str(product.id), "quantity": "1", "discount": "0"})
    page = response.get_data(as_text=True)
    assert "Amount: $38,339.16." in page and "you had entered" not in page


def test_a_first_line_without_a_typed_amount_only_shows_the_amount(app, classroom, dollars):
    """A first line without a typed amount only shows the amount."""
    student = classroom.user("studentA")
    opp = _as(student, create_opportunity, Opportunity, {
        "name": "No amount yet", "account_id": dollars.account_id, "stage": "proposal",
        "close_date": date(2030, 6, 30)})
    product = _product(classroom, "10")
    client = classroom.client_for(app, "studentA")
    response = client.post(f"/opportunities/{opp.id}/lines/new?lang=zh_Hans_CN", follow_redirects=True,
                           data={"product_id": str(product.id), "quantity": "3", "discount": "0"})
    page = response.get_data(as_text=True)
    assert "金额：US$30.00。" in page and "您之前输入的金额" not in page
