"""The money formatter's fast path writes exactly what babel's format_currency writes (issue 9, speed).

`sandbox.money` parses a currency pattern and looks up its symbols once per (locale, currency, whole) and
then rounds and groups each amount itself: every amount, sign, locale and currency must come out the same.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel.numbers import format_currency
from flask_babel import force_locale
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.money import WHOLE, _format, format_money

LOCALES = ["zh_Hans_CN", "en", "en_US", "en_IN", "de_DE", "de_CH", "fr_FR", "ja_JP", "ar_EG", "nl_NL"]
CURRENCIES = ["CNY", "USD", "EUR", "JPY", "GBP", "CHF", "KWD", "INR"]


def babel(value: Decimal, currency: str, locale: str, whole: bool) -> str:
    if whole:
        return format_currency(value, currency, format=WHOLE, locale=locale, currency_digits=False)
    return format_currency(value, currency, locale=locale)


EDGES = ["0", "-0", "0.005", "0.015", "-0.005", "1", "-1", "999.995", "1000", "-1234567.891", "12345678901234.99",
         "0.1", "100000", "77674.70", "38320", "1E+3", "1.2345E-7", "-99999999999999.994"]


@pytest.mark.parametrize("whole", [False, True])
@pytest.mark.parametrize("locale", LOCALES)
def test_edges_as_babel_writes_them(locale: str, whole: bool) -> None:
    """Rounding half-even, negative zero, grouping (India's 2-digit groups), exponents, each currency's digits."""
    for currency in CURRENCIES:
        for text in EDGES:
            value = Decimal(text)
            assert _format(value, currency, locale, whole) == babel(value, currency, locale, whole), (text, currency)


@settings(max_examples=400, deadline=None)
@given(value=st.decimals(min_value=Decimal("-1e14"), max_value=Decimal("1e14"), allow_nan=False, allow_infinity=False),
       currency=st.sampled_from(CURRENCIES), locale=st.sampled_from(LOCALES), whole=st.booleans())
def test_any_amount_as_babel_writes_it(value: Decimal, currency: str, locale: str, whole: bool) -> None:
    """Any amount an amount column holds (and more digits after the point than it keeps)."""
    assert _format(value, currency, locale, whole) == babel(value, currency, locale, whole)


def test_the_page_formatter_follows_the_readers_language(app) -> None:
    """format_money reads the request's locale (force_locale included) and falls back to babel for the rest."""
    with app.test_request_context("/"):
        with force_locale("en"):
            assert format_money("38320", "USD") == "$38,320.00"
            assert format_money(Decimal("-38320.5"), "CNY", whole=True) == "-CN¥38,320"
        with force_locale("zh_Hans_CN"):
            assert format_money("38320", "CNY") == "¥38,320.00"
            assert format_money("38320", "USD", whole=True) == "US$38,320"
        assert format_money("Infinity", "CNY") == babel(Decimal("Infinity"), "CNY", "en", False)
    assert format_money("", "CNY") == "" and format_money("n/a") == "n/a"
