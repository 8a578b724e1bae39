"""RFM and lifetime-value arithmetic: pure functions over plain numbers (no Flask, no database).

Kept apart from the page (`customers.py`) so the rules a student reads on the page (how a quintile
score is given, what "high" means, which segment a score falls in) are each one small, tested function.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import groupby

# The classic 8-way split: (R high, F high, M high) -> segment key. Keys are stable: URLs, the log and a
# saved tag's segment name them; labels (in both languages) live in customers.py.
SEGMENT_KEYS: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "important_value",          # 重要价值客户
    (True, False, True): "important_development",   # 重要发展客户
    (False, True, True): "important_retention",     # 重要保持客户
    (False, False, True): "important_winback",      # 重要挽留客户
    (True, True, False): "general_value",           # 一般价值客户
    (True, False, False): "general_development",    # 一般发展客户
    (False, True, False): "general_retention",      # 一般保持客户
    (False, False, False): "general_winback",       # 一般挽留客户
}
SEGMENT_ORDER: tuple[str, ...] = tuple(SEGMENT_KEYS.values())
CENT = Decimal("0.01")


def quintile_scores(values: Sequence[Fraction | Decimal | int]) -> list[int]:
    """A score from 1 (worst) to 5 (best) for each value, higher values being better.

    Tie rule (mid-rank): score = 1 + ⌊5 × (values strictly lower + half the values equal) ÷ n⌋. Equal values
    always share a score; with fewer than five values the scores still spread over 1–5 (one value: 3; two:
    2 and 4; three: 1, 3, 5), and when every value is equal every score is 3 (nothing tells them apart).
    """
    n = len(values)
    # One score per distinct value (sorted once, runs of equal values walked in order), then a lookup each.
    score_of: dict[Fraction | Decimal | int, int] = {}
    below = 0
    for value, run in groupby(sorted(values)):
        equal = sum(1 for _ in run)
        # Integer arithmetic: 5 × (2·below + equal) ÷ (2n), floored.
        score_of[value] = 1 + (5 * (2 * below + equal)) // (2 * n)
        below += equal
    return [score_of[value] for value in values]


def highs(scores: Sequence[int]) -> list[bool]:
    """Whether each score is "high": above the average score of all the accounts analysed (the textbook rule)."""
    n = len(scores)
    total = sum(scores)
    return [score * n > total for score in scores]


def segment_of(r_high: bool, f_high: bool, m_high: bool) -> str:
    """The segment key of an account from its R, F and M high/low."""
    return SEGMENT_KEYS[(r_high, f_high, m_high)]


def segments(recency: Sequence[int], frequency: Sequence[int], monetary: Sequence[Decimal]
             ) -> list[tuple[int, int, int, str]]:
    """(R score, F score, M score, segment key) of each account; fewer recent days is better."""
    r = quintile_scores([-days for days in recency])
    f = quintile_scores(frequency)
    m = quintile_scores(monetary)
    rh, fh, mh = highs(r), highs(f), highs(m)
    return [(r[i], f[i], m[i], segment_of(rh[i], fh[i], mh[i])) for i in range(len(r))]


def money(value: Decimal | Fraction | int) -> Decimal:
    """Rounded to the cent, half up (as the opportunity lines round)."""
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def lifetime_value(margin_total: Decimal, deals: int, years_observed: Fraction, expected_years: Decimal
                   ) -> tuple[Decimal, Decimal, Decimal]:
    """(average margin per deal, deals per year, lifetime value) of one account.

    lifetime value = average margin per deal × deals per year × expected years, computed exactly and
    rounded once at the end (so the three shown figures multiply back to the value within a cent or so).
    """
    if deals <= 0 or years_observed <= 0:
        return Decimal("0.00"), Decimal("0.00"), Decimal("0.00")
    average = Fraction(margin_total) / deals
    per_year = Fraction(deals) / years_observed
    value = average * per_year * Fraction(expected_years)
    return money(average), money(per_year), money(value)
