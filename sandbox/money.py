"""Money as people read it: the class's currency (its scenario's `currency` key), written in the reader's locale.

One formatter for lists, detail pages, product lines, the pipeline board, flashes, the log and grading
reasons. Amounts keep their cents ("¥38,320.00", "$38,320.00"), as Salesforce shows currency fields;
summaries of many deals (board columns, the dashboard's total) use `whole=True` ("¥38,320").
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency
from flask import g, has_app_context
from flask_babel import get_locale

DEFAULT_CURRENCY = "CNY"


def _locale() -> str:
    try:
        return str(get_locale() or "zh_Hans_CN")
    except Exception:  # outside a request (CLI, grading jobs): Chinese, the product's default
        return "zh_Hans_CN"


def format_money(amount: Any, currency: str | None = None, *, whole: bool = False) -> str:
    """`amount` in `currency` (default CNY) for the current locale; "" for no amount, the text itself if not a number."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    code = currency or DEFAULT_CURRENCY
    if whole:
        return format_currency(value, code, format="¤#,##0", locale=_locale(), currency_digits=False)
    return format_currency(value, code, locale=_locale())


def class_currency(class_id: int | None) -> str:
    """The currency of a class: its current class run's scenario's, else CNY (cached for the request)."""
    if class_id is None:
        return DEFAULT_CURRENCY
    cache: dict[int, str] = g.setdefault("class_currency", {}) if has_app_context() else {}
    if class_id not in cache:
        # Imported here: money is a leaf module every feature uses; classroom imports features.
        from .classroom.runs.lookup import current_class_run

        run = current_class_run(class_id)
        cache[class_id] = run.scenario.currency if run is not None else DEFAULT_CURRENCY
    return cache[class_id]


def money_of(amount: Any, where: Any = None, *, whole: bool = False) -> str:
    """`amount` in the currency of `where`: a class id, a record with a class_id, or None (the viewer's class)."""
    if where is None:
        from flask_login import current_user

        class_id = getattr(current_user, "class_id", None)
    elif isinstance(where, int):
        class_id = where
    else:
        class_id = getattr(where, "class_id", None)
    return format_money(amount, class_currency(class_id), whole=whole)
