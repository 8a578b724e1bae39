"""Account and contact reports: my accounts, neglected accounts, accounts by owner, new accounts,
contact methods, accounts by attribute (source, industry, ownership, level) and growth by month."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_

from ..activities.models import Activity
from ..clock import utcnow
from ..contacts.models import Contact
from ..opportunities.models import Opportunity
from .registry import CLASS, DEPARTMENT, MONTH, OWNER, QUARTER, Report, count_measure, register

PEOPLE = [OWNER, DEPARTMENT, CLASS]
ACCOUNTS = count_measure(_l("Accounts"))
DAYS_LABEL = {"days": _l("Days")}


def _since(params: dict[str, int]) -> Any:
    """The stored (UTC) time `days` days ago."""
    return utcnow() - timedelta(days=params["days"])


def recent_activity(model: Any, since: Any) -> Any:
    """An activity about the account, one of its contacts or one of its opportunities, touched or dated
    since `since`. Only activities the viewer may see count (the visibility rule reaches subqueries)."""
    recent = or_(Activity.updated_at >= since, Activity.start_at >= since, Activity.due_date >= since.date())
    direct = exists().where(Activity.related_type == "account", Activity.related_id == model.id, recent)
    # One EXISTS per path (each correlates to the account row and probes an index).
    through = [
        exists().where(Activity.related_type == kind, Activity.related_id == other.id, other.account_id == model.id,
                       recent)
        for kind, other in (("contact", Contact), ("opportunity", Opportunity))
    ]
    return or_(direct, *through)


def neglected(model: Any, params: dict[str, int]) -> list[Any]:
    """Accounts older than N days with no recent activity (a new account has not had its chance yet)."""
    since = _since(params)
    return [model.created_at < since, ~recent_activity(model, since)]


register(Report(
    "accounts", "mine", _l("My accounts"), "account",
    measures=[ACCOUNTS], groups=["industry", "level", "type", "source", "ownership", "rating", MONTH],
    mine_only=True, chart="doughnut",
    description=_l("The accounts you own, by industry (or another field)."), order=10,
))

register(Report(
    "accounts", "neglected", _l("Neglected accounts"), "account",
    measures=[ACCOUNTS], groups=[*PEOPLE, "level", "industry"], where=neglected,
    params={"days": 30}, param_labels=DAYS_LABEL,
    description=_l("Accounts with no activity (about the account, its contacts or its opportunities) in the "
                   "last N days; accounts created in those days are not counted yet."), order=20,
))

register(Report(
    "accounts", "by_owner", _l("Accounts by owner"), "account",
    measures=[ACCOUNTS], groups=PEOPLE,
    description=_l("How many accounts each salesperson (department, class) looks after."), order=30,
))

register(Report(
    "accounts", "new", _l("New accounts"), "account",
    measures=[ACCOUNTS], groups=[*PEOPLE, "source", "industry"],
    where=lambda m, p: [m.created_at >= _since(p)], params={"days": 30}, param_labels=DAYS_LABEL,
    description=_l("Accounts created in the last N days."), order=40,
))

register(Report(
    "accounts", "contact_methods", _l("Contact methods"), "contact",
    measures=[count_measure(_l("Contacts"))], groups=["contact_method", *PEOPLE, "source"], chart="pie",
    description=_l("Contacts by preferred contact method."), order=50,
))

register(Report(
    "accounts", "attributes", _l("Accounts by source, industry, ownership, level"), "account",
    measures=[ACCOUNTS], groups=["source", "industry", "ownership", "level", "type", "rating"],
    description=_l("Accounts by one of their fields: choose it under “Group by”."), order=60,
))

register(Report(
    "accounts", "growth", _l("Growth by month"), "account",
    measures=[ACCOUNTS], groups=[MONTH, QUARTER], chart="line",
    description=_l("New accounts per month (created date)."), order=70,
))
