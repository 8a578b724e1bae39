"""Money as people read it: the class's currency (its scenario's `currency` key), written in the reader's locale.

One formatter for lists, detail pages, product lines, the pipeline board, flashes, the log and grading
reasons. Amounts keep their cents ("¥38,320.00", "$38,320.00"), as Salesforce shows currency fields;
summaries of many deals (board columns, the dashboard's total) use `whole=True` ("¥38,320").
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple

from babel import Locale
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_pattern,
)
from flask.globals import _cv_app
from flask_babel import get_locale

DEFAULT_CURRENCY = "CNY"
WHOLE = "¤#,##0"  # summaries of many deals: no cents
_STORE = "sandbox.money"  # app.extensions key: (stamp, {class id: currency}), see codes.services.kept


class _Compiled(NamedTuple):
    """What babel's `format_currency` works out anew for every amount, kept per (locale, currency, whole)."""

    quantum: Decimal
    min_int: int
    grouping: tuple[int, int]
    frac_prec: tuple[int, int]
    group: str
    decimal: str
    prefix: tuple[str, str]  # [is_negative], the currency symbol in place and the quotes removed
    suffix: tuple[str, str]


def _literal(text: str, currency: str, locale: Locale) -> str:
    """A pattern's prefix or suffix as `NumberPattern.apply` finishes the text (babel 2.x)."""
    text = text.replace("¤¤", currency.upper()).replace("¤", get_currency_symbol(currency, locale))
    return re.sub(r"'([^']*)'", lambda m: m.group(1) or "'", text)


@lru_cache(maxsize=256)
def _compiled(locale_name: Locale | str, currency: str, whole: bool) -> _Compiled | None:
    """The parsed pattern, its symbols and its finished prefix and suffix; None for a pattern the fast path
    does not cover (scaled, scientific, significant digits, currency names), which babel formats itself."""
    locale = Locale.parse(locale_name)
    pattern = parse_pattern(WHOLE) if whole else locale.currency_formats["standard"]
    literals = "".join(pattern.prefix + pattern.suffix)
    if pattern.scale or pattern.exp_prec or "@" in pattern.pattern or "¤¤¤" in literals:
        return None
    group, point = get_group_symbol(locale, numbering_system="latn"), get_decimal_symbol(locale, numbering_system="latn")
    if "'" in group + point:  # apply() strips quotes from the whole text, the number's included (de_CH)
        return None
    # As apply(): with currency_digits the currency's own precision (¥ and $: 2), else the pattern's.
    frac_prec = pattern.frac_prec if whole else (get_currency_precision(currency),) * 2
    return _Compiled(Decimal(10) ** -frac_prec[1], pattern.int_prec[0], pattern.grouping, frac_prec, group, point,
                     (_literal(pattern.prefix[0], currency, locale), _literal(pattern.prefix[1], currency, locale)),
                     (_literal(pattern.suffix[0], currency, locale), _literal(pattern.suffix[1], currency, locale)))


def _format(value: Decimal, currency: str, locale_name: Locale | str, whole: bool) -> str:
    """`format_currency(value, currency, locale=locale_name)` (with `format=WHOLE, currency_digits=False`
    when `whole`), the same text at a fraction of the cost: the pattern is parsed and the symbols looked up
    once per process; per amount only babel's own steps of `NumberPattern.apply` for a plain pattern remain
    (round half-even to the precision, group the integer digits, trim the fraction). Tests compare the two."""
    fast = _compiled(locale_name, currency, whole) if value.is_finite() else None
    if fast is None:
        if whole:
            return format_currency(value, currency, format=WHOLE, locale=locale_name, currency_digits=False)
        return format_currency(value, currency, locale=locale_name)
    value = value.scaleb(0)  # as apply() does (the context's precision), the pattern's scale being 0
    negative = int(value.is_signed())
    integer, _point, fraction = f"{abs(value).normalize().quantize(fast.quantum):f}".partition(".")
    if len(integer) < fast.min_int:
        integer = "0" * (fast.min_int - len(integer)) + integer
    size, grouped = fast.grouping[0], ""
    while len(integer) > size:
        grouped = fast.group + integer[-size:] + grouped
        integer = integer[:-size]
        size = fast.grouping[1]
    least, most = fast.frac_prec
    fraction = fraction or "0"
    if len(fraction) < least:
        fraction += "0" * (least - len(fraction))
    if most == 0 or (least == 0 and int(fraction) == 0):
        fraction = ""
    else:
        while len(fraction) > least and fraction[-1] == "0":
            fraction = fraction[:-1]
        fraction = fast.decimal + fraction
    return fast.prefix[negative] + integer + grouped + fraction + fast.suffix[negative]


def _locale() -> Locale | str:
    """The reader's locale (the Locale itself, or its name outside a request: Chinese, the product's default)."""
    ctx = _cv_app.get(None)
    if ctx is None:
        return "zh_Hans_CN"
    # The locale Flask-Babel already chose for this context (force_locale sets the same attribute): asking
    # get_locale() costs more than formatting the amount.
    locale = getattr(ctx.g.__dict__.get("_flask_babel"), "babel_locale", None)
    if locale is not None:
        return locale
    try:
        return get_locale() or "zh_Hans_CN"
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
    return _format(value, currency or DEFAULT_CURRENCY, _locale(), whole)


def class_currency(class_id: int | None) -> str:
    """The currency of a class: its current class run's scenario's, else CNY (cached for the request, and
    kept by the process between read-only requests while no run was added or undone)."""
    if class_id is None:
        return DEFAULT_CURRENCY
    ctx = _cv_app.get(None)  # the context's g itself: a list page asks once per amount
    cache: dict[int, str] = ctx.g.__dict__.setdefault("class_currency", {}) if ctx is not None else {}
    if class_id not in cache:
        # Imported here: money is a leaf module every feature uses; classroom imports features.
        from .classroom.runs.lookup import current_class_run
        from .codes.services import readable_store

        # A write request reads a copy of what read-only requests keep (a run it added or undid moves the
        # stamp): the current run's row carries its whole scenario text.
        shared = readable_store(_STORE) if ctx is not None else None
        currency = shared.get(class_id) if shared is not None else None
        if currency is None:
            run = current_class_run(class_id)
            currency = run.scenario.currency if run is not None else DEFAULT_CURRENCY
            if shared is not None:
                shared[class_id] = currency
        cache[class_id] = currency
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
