"""Forecast categories: where an opportunity counts in a forecast.

An opportunity's `forecast_category` is pipeline / best_case / commit / omitted, or None to follow its
stage. Whatever the field says, a closed-won opportunity counts as **closed** and a closed-lost one is
**omitted** (a forecast is about money still to come, and money already in). An open opportunity without
a category follows its probability (the stage's default probability, from the code table):

* probability >= 80 % (negotiation with the default stages) → commit;
* probability >= 50 % (value proposition, proposal) → best case;
* otherwise (prospecting, qualification, needs analysis) → pipeline.

`category_expression(model)` is the same rule in SQL, so the page and the roll-up never disagree.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, literal

from ..codes.services import flagged

CLOSED = "closed"
COMMIT, BEST_CASE, PIPELINE, OMITTED = "commit", "best_case", "pipeline", "omitted"
CATEGORIES = (PIPELINE, BEST_CASE, COMMIT, OMITTED)
# Probability thresholds (%) of an open opportunity without a category of its own.
COMMIT_FROM = 80
BEST_CASE_FROM = 50
LABELS = {CLOSED: _l("Closed won"), COMMIT: _l("Commit"), BEST_CASE: _l("Best case"), PIPELINE: _l("Pipeline"),
          OMITTED: _l("Omitted")}


def by_probability(probability: int | None) -> str:
    """The category an open opportunity without one gets from its probability (%)."""
    value = probability or 0
    if value >= COMMIT_FROM:
        return COMMIT
    if value >= BEST_CASE_FROM:
        return BEST_CASE
    return PIPELINE


def effective(stage: str | None, category: str | None, probability: int | None) -> str:
    """Where an opportunity counts: closed, omitted, or its own or its stage's category."""
    if stage in flagged("opportunity_stage", "won"):
        return CLOSED
    if stage in flagged("opportunity_stage", "closed"):
        return OMITTED
    if category in CATEGORIES:
        return category
    return by_probability(probability)


def category_expression(model: Any) -> Any:
    """SQL: `effective()` of each row of `model` (an Opportunity or an alias of it)."""
    won = flagged("opportunity_stage", "won")
    closed = flagged("opportunity_stage", "closed")
    return case(
        (model.stage.in_(won), literal(CLOSED)),
        (model.stage.in_(closed), literal(OMITTED)),
        (model.forecast_category.in_(CATEGORIES), model.forecast_category),
        (model.probability >= COMMIT_FROM, literal(COMMIT)),
        (model.probability >= BEST_CASE_FROM, literal(BEST_CASE)),
        else_=literal(PIPELINE),
    )
