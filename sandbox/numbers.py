"""Numbers typed into URLs, query strings and forms: parsed once, the same way, within database range."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from wtforms import DecimalField, IntegerField

# The largest value a database integer column holds (PostgreSQL `integer`); SQLite's driver fails
# above 2**63 (OverflowError), so an unchecked number from a URL could become a server error.
DB_INT_MAX = 2**31 - 1


def db_int(text: str) -> int:
    """A whole number within a database integer's range, for `args.get(name, type=db_int)`.

    Raises ValueError otherwise ("abc", "1e400", "99999999999999999999", "-3000000000"), which
    Werkzeug's `get(..., type=...)` turns into the default: a bad filter is ignored, never a 500.
    """
    value = int(text.strip())
    if not -DB_INT_MAX <= value <= DB_INT_MAX:
        raise ValueError(f"{text[:40]!r} is out of range")
    return value


def db_id(text: str) -> int:
    """An id (1 ... DB_INT_MAX), for `args.get(name, type=db_id)`; ValueError otherwise."""
    value = db_int(text)
    if value < 1:
        raise ValueError(f"{text[:40]!r} is no id")
    return value


def page_number(args: object, name: str = "page", last: int = 100_000) -> int:
    """The page asked for in a query string: 1 unless it is a number between 1 and `last`."""
    value = args.get(name, 1, type=db_int)  # type: ignore[attr-defined]
    return max(1, min(value, last))


class BoundedDecimalField(DecimalField):
    """A DecimalField that reads only what its column holds (`digits` before the point): "1e400" or an
    amount beyond the column is refused next to the field, instead of failing on display or on save."""

    def __init__(self, *args: Any, digits: int = 14, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.digits = digits

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the amount; one that is not finite or has too many digits is a field error."""
        super().process_formdata(valuelist)
        value = self.data
        if isinstance(value, Decimal) and (not value.is_finite() or abs(value) >= Decimal(10) ** self.digits):
            self.data = None
            raise ValueError(_("Not a valid amount (at most %(n)d digits before the point).", n=self.digits))


class BoundedIntegerField(IntegerField):
    """An IntegerField that reads only what a database integer holds."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the integer; one beyond a database integer is a field error."""
        super().process_formdata(valuelist)
        if isinstance(self.data, int) and not -DB_INT_MAX <= self.data <= DB_INT_MAX:
            self.data = None
            raise ValueError(_("Not a valid whole number (too large)."))
