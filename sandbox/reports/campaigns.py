"""Campaign reports: ROI by campaign, response by campaign (members by status), leads and won amount by campaign.

Each is an ordinary report of the registry, so the engine's one aggregate query, the drill-down and the exports
apply. The campaign's won amount and its members are correlated subqueries of the campaign row: the won
opportunities are read through the visibility rule like every ORM select (another student's deal never adds to
a campaign), the members belong to the campaign and are visible exactly when it is.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from ..campaigns.models import Campaign, CampaignMember
from ..codes.defaults import DEFAULTS
from ..codes.services import flagged
from ..codes.services import label as code_label
from ..extensions import db
from ..opportunities.models import Opportunity
from .leads import converted, count_if
from .opportunities import won
from .registry import (
    CLASS,
    MONTH,
    OWNER,
    QUARTER,
    Family,
    Grouping,
    Measure,
    Report,
    count_measure,
    register,
    register_family,
    sum_measure,
)

PEOPLE = [OWNER, CLASS]

register_family(Family("campaigns", _l("Campaigns"),
                       _l("ROI and response by campaign, the leads and won deals each produced."), order=60,
                       icon="megaphone"))


def _campaign_labels(keys: list[Any]) -> dict[Any, str]:
    """Campaign names through the visibility rule (one the viewer cannot read shows its number)."""
    ids = [int(k) for k in keys if str(k).isdigit()]
    names = dict(db.session.execute(select(Campaign.id, Campaign.name).where(Campaign.id.in_(ids))).all())
    return {k: names.get(int(k), f"#{k}") for k in keys if str(k).isdigit()}


def _of_campaign(column: Any) -> Any:
    def condition(model: Any, key: str) -> list[Any]:
        if not key.isdigit() or len(key) > 10:
            return [model.id.is_(None)]  # no campaign has that key: no rows, not an error
        return [column(model) == int(key)]
    return condition


def campaign_grouping(column: Any) -> Grouping:
    """Group by the campaign a row belongs to (`column(model)` is its campaign id)."""
    return Grouping("campaign", _l("Campaign"), column=column, condition=_of_campaign(column),
                    labels=_campaign_labels)


# ---- over campaigns ---------------------------------------------------------------------------------------------
def won_amount(model: Any) -> Any:
    """The won opportunities' amount attributed to the campaign row (visible opportunities only)."""
    return (select(func.coalesce(func.sum(Opportunity.amount), 0))
            .where(Opportunity.campaign_id == model.id, won(Opportunity)).scalar_subquery())


def _members(model: Any, where: Any = None) -> Any:
    stmt = select(func.count(CampaignMember.id)).where(CampaignMember.campaign_id == model.id)
    return (stmt.where(where) if where is not None else stmt).scalar_subquery()


def responded_statuses() -> list[str]:
    """The member statuses the code table counts as a response."""
    return flagged("member_status", "responded") or ["responded"]


def _roi(m: Any) -> Any:
    # Only campaigns with a cost enter the ratio: a campaign without one would add revenue and no cost.
    with_cost = m.actual_cost.is_not(None)
    won_sum = func.sum(case((with_cost, won_amount(m)), else_=0))
    cost = func.sum(m.actual_cost)
    return (won_sum - cost) * 100.0 / func.nullif(cost, 0)


class StatusLabel:
    """A member status's label, read when shown (the reader's language and class)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __str__(self) -> str:
        return code_label("member_status", self.code)

    def __html__(self) -> str:
        from markupsafe import escape

        return str(escape(str(self)))


CAMPAIGN_SELF = campaign_grouping(lambda m: m.id)
CAMPAIGN_GROUPS = ["campaign", "type", "status", *PEOPLE, MONTH, QUARTER]
MEMBERS = Measure("members", _l("Members"), lambda m: func.coalesce(func.sum(_members(m)), 0))
RESPONDED = Measure("responded", _l("Responded"), lambda m: func.coalesce(func.sum(_members(
    m, CampaignMember.status.in_(responded_statuses()))), 0))
STATUS_CODES = [code for code, *_rest in DEFAULTS["member_status"]]  # one measure per default status

register(Report(
    "campaigns", "roi", _l("ROI by campaign"), "campaign",
    measures=[Measure("roi", _l("ROI (%)"), _roi, "percent"),
              sum_measure("actual_cost", _l("Actual cost")),
              Measure("won_amount", _l("Won amount"), lambda m: func.coalesce(func.sum(won_amount(m)), 0), "money"),
              count_measure(_l("Campaigns"))],
    groups=CAMPAIGN_GROUPS, groupings=[CAMPAIGN_SELF], date_field="start_date",
    chart_measures=["sum_actual_cost", "won_amount"],
    description=_l("(won − actual cost) ÷ actual cost: the closed-won opportunities attributed to each campaign "
                   "against what it cost. Campaigns without an actual cost are left out of the ratio."), order=10,
))

register(Report(
    "campaigns", "response", _l("Response by campaign"), "campaign",
    measures=[Measure("response_rate", _l("Response rate (%)"),
                      lambda m: func.sum(_members(m, CampaignMember.status.in_(responded_statuses()))) * 100.0
                      / func.nullif(func.sum(_members(m)), 0), "percent"),
              MEMBERS, RESPONDED,
              *(Measure(f"status_{code}", StatusLabel(code),
                        lambda m, code=code: func.coalesce(func.sum(_members(m, CampaignMember.status == code)), 0))
                for code in STATUS_CODES)],
    groups=CAMPAIGN_GROUPS, groupings=[CAMPAIGN_SELF], date_field="start_date",
    chart_measures=[f"status_{code}" for code in STATUS_CODES],
    description=_l("The campaign's members by response status, and the share who responded."), order=20,
))

# ---- over the leads and deals campaigns produced ----------------------------------------------------------------
register(Report(
    "campaigns", "leads", _l("Leads by campaign"), "lead",
    measures=[count_measure(_l("Leads")), Measure("converted", _l("Converted leads"), lambda m: count_if(converted(m)))],
    groups=["campaign", "status", "source", *PEOPLE, MONTH], groupings=[campaign_grouping(lambda m: m.campaign_id)],
    where=lambda m, p: [m.campaign_id.is_not(None)],
    description=_l("The leads each campaign generated (leads whose campaign is set)."), order=30,
))

register(Report(
    "campaigns", "won", _l("Won amount by campaign"), "opportunity",
    measures=[sum_measure("amount", _l("Won amount")), count_measure(_l("Won deals"))],
    groups=["campaign", *PEOPLE, MONTH, QUARTER], groupings=[campaign_grouping(lambda m: m.campaign_id)],
    date_field="close_date", where=lambda m, p: [m.campaign_id.is_not(None), won(m)],
    description=_l("Closed-won opportunities attributed to each campaign."), order=40,
))
