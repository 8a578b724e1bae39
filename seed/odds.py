"""How often each picklist value occurs in a generated book, and other constants of realism."""

from __future__ import annotations

import itertools

STAGE_PROBABILITY = {"prospecting": 10, "qualification": 20, "needs_analysis": 30, "value_proposition": 50,
                     "proposal": 65, "negotiation": 80, "closed_won": 100, "closed_lost": 0}
WON, LOST = "closed_won", "closed_lost"
# Relative weights of codes; codes a scenario adds weigh 10.
WEIGHTS = {
    "lead_status": {"new": 35, "contacted": 30, "qualified": 20, "unqualified": 15, "converted": 0},
    "lead_source": {"web": 25, "phone": 15, "referral": 15, "trade_show": 15, "campaign": 10, "partner": 8,
                    "advertisement": 7, "other": 5},
    "opportunity_stage": {"prospecting": 15, "qualification": 15, "needs_analysis": 14, "value_proposition": 12,
                          "proposal": 12, "negotiation": 10, WON: 12, LOST: 10},
    "account_type": {"customer": 55, "prospect": 30, "partner": 5, "reseller": 8, "other": 2},
    "account_level": {"gold": 15, "silver": 30, "normal": 55},
    "ownership": {"private": 60, "state": 12, "foreign": 8, "joint": 8, "public": 10, "other": 2},
    "rating": {"hot": 25, "warm": 45, "cold": 30},
    "event_type": {"call": 50, "meeting": 20, "visit": 20, "demo": 10},
    "task_status": {"not_started": 30, "in_progress": 25, "completed": 35, "deferred": 10},
    "priority": {"high": 20, "normal": 60, "low": 20},
    "opportunity_type": {"new_business": 75, "existing_business": 25},
    "company_type": {"manufacturer": 50, "distributor": 35, "service_provider": 15, "software_vendor": 0, "other": 0},
    "threat_level": {"high": 30, "medium": 45, "low": 25},
}
# Where a language's customers differ (nobody in the US is reached on WeChat).
LANGUAGE_WEIGHTS = {
    "zh": {"contact_method": {"phone": 20, "mobile": 35, "email": 10, "wechat": 30, "visit": 5}},
    "en": {"contact_method": {"phone": 30, "mobile": 25, "email": 40, "wechat": 0, "visit": 5}},
}
# What activities are about: lead, account, contact, opportunity.
RELATED_WEIGHTS = {"lead": 30, "account": 25, "contact": 20, "opportunity": 25}
# Office hours in UTC for the locale's usual time zone (China +8, US Pacific -7).
UTC_OFFSET = {"zh": 8, "en": -7}
# Minutes an event of each type lasts (low, high).
DURATION = {"call": (5, 40), "meeting": (45, 120), "visit": (60, 180), "demo": (45, 90)}
DISCOUNTS = (0, 0, 0, 0, 5, 5, 10, 15)


def weighted_codes(codes: dict[str, list[str]], language: str) -> dict[str, tuple[list[str], list[float]]]:
    """Per code table: its active codes and their cumulative weights (codes a scenario adds weigh 10)."""
    result = {}
    for table, values in codes.items():
        if not values:
            continue
        local = LANGUAGE_WEIGHTS.get(language, {}).get(table, {})
        weights = [local.get(c, WEIGHTS.get(table, {}).get(c, 10)) for c in values]
        if not sum(weights):
            weights = [1] * len(values)
        result[table] = (values, list(itertools.accumulate(weights)))
    return result
