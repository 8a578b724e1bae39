"""What objectives may name: record types with their fields, code tables and verbs.

seed/ imports nothing of sandbox, so these lists are written here; tests/test_seed.py checks them
against the models, the default code tables and the registered verbs, so a drift fails the tests.
"""

from __future__ import annotations

# Field kinds: text, number, money, int, bool, date, datetime, json, ref (an id of another row) and
# "code:<table>" (a picklist code). `where` clauses are checked against these kinds.
_COMMON = {"created_at": "datetime", "updated_at": "datetime"}

RECORD_FIELDS: dict[str, dict[str, str]] = {
    "lead": {
        "name": "text", "company": "text", "title": "text", "phone": "text", "mobile": "text", "email": "text",
        "website": "text", "address": "text", "industry": "code:industry", "source": "code:lead_source",
        "status": "code:lead_status", "rating": "code:rating", "annual_revenue": "money", "employees": "int",
        "description": "text", "converted_at": "datetime", "converted_account_id": "ref",
        "converted_contact_id": "ref", "converted_opportunity_id": "ref", "campaign_id": "ref", **_COMMON,
    },
    "account": {
        "name": "text", "type": "code:account_type", "industry": "code:industry", "rating": "code:rating",
        "level": "code:account_level", "ownership": "code:ownership", "source": "code:lead_source",
        "phone": "text", "fax": "text", "email": "text", "website": "text", "billing_address": "text",
        "shipping_address": "text", "employees": "int", "annual_revenue": "money", "parent_id": "ref",
        "tags": "text", "description": "text", **_COMMON,
    },
    "contact": {
        "name": "text", "account_id": "ref", "title": "text", "department": "text", "phone": "text",
        "mobile": "text", "email": "text", "birthday": "date", "address": "text",
        "contact_method": "code:contact_method", "reports_to_id": "ref", "source": "code:lead_source",
        "description": "text", **_COMMON,
    },
    "opportunity": {
        "name": "text", "account_id": "ref", "type": "code:opportunity_type", "stage": "code:opportunity_stage",
        "probability": "int", "amount": "money", "close_date": "date", "next_step": "text",
        "source": "code:lead_source", "lost_reason": "code:closed_lost_reason",
        "forecast_category": "code:forecast_category", "description": "text", "closed_at": "datetime",
        "campaign_id": "ref", **_COMMON,
    },
    "product": {
        "code": "text", "name": "text", "category_id": "ref", "unit": "text", "list_price": "money",
        "cost": "money", "active": "bool", "stock_on_hand": "int", "reorder_level": "int",
        "description": "text", **_COMMON,
    },
    "competitor": {
        "name": "text", "website": "text", "strengths": "text", "weaknesses": "text",
        "threat_level": "code:threat_level", "company_type": "code:company_type", "products": "text",
        "description": "text", **_COMMON,
    },
    "activity": {
        "kind": "text", "subject": "text", "due_date": "date", "status": "code:task_status",
        "priority": "code:priority", "event_type": "code:event_type", "start_at": "datetime",
        "end_at": "datetime", "location": "text", "attendees": "text", "description": "text",
        "related_type": "text", "related_id": "ref", **_COMMON,
    },
    "campaign": {
        "name": "text", "type": "code:campaign_type", "status": "code:campaign_status", "start_date": "date",
        "end_date": "date", "budget": "money", "expected_revenue": "money", "actual_cost": "money",
        "expected_response": "int", "audience": "text", "description": "text", **_COMMON,
    },
    "case": {
        "workflow": "text", "subject": "text", "description": "text", "state": "text",
        "priority": "code:case_priority", "account_id": "ref", "contact_id": "ref", "assignee_id": "ref",
        "supervisor_id": "ref", "level": "int", "channel": "code:case_channel", "target": "code:case_target",
        "data": "json", "stamps": "json", "received_at": "datetime", "resolved_at": "datetime",
        "closed_at": "datetime", "due_at": "datetime", "satisfaction": "int", "solved_by_id": "ref", **_COMMON,
    },
    "article": {
        "title": "text", "category": "code:article_category", "keywords": "text", "body": "text", "status": "text",
        "published_at": "datetime", "published_by_id": "ref", **_COMMON,
    },
}

# Columns of every owned record that objectives never name (the loader sets them).
INTERNAL_COLUMNS = ("id", "owner_id", "class_id", "created_by_id", "deleted_at", "version")

# What a record_count check may require an opportunity to have (its child rows).
WITH_CHILDREN = {"lines": "opportunity_lines", "competitors": "opportunity_competitors",
                 "contact_roles": "opportunity_contact_roles", "partners": "opportunity_partners"}

# Default picklist codes (sandbox/codes/defaults.py); scenario overrides add to or deactivate them.
DEFAULT_CODES: dict[str, tuple[str, ...]] = {
    "lead_status": ("new", "contacted", "qualified", "unqualified", "converted"),
    "lead_source": ("web", "phone", "referral", "trade_show", "campaign", "partner", "advertisement", "other"),
    "industry": ("manufacturing", "retail", "it", "finance", "education", "healthcare", "logistics", "food",
                 "energy", "government", "other"),
    "rating": ("hot", "warm", "cold"),
    "account_type": ("customer", "partner", "reseller", "prospect", "other"),
    "account_level": ("gold", "silver", "normal"),
    "ownership": ("state", "private", "foreign", "joint", "public", "other"),
    "opportunity_stage": ("prospecting", "qualification", "needs_analysis", "value_proposition", "proposal",
                          "negotiation", "closed_won", "closed_lost"),
    "opportunity_type": ("new_business", "existing_business"),
    "contact_method": ("phone", "mobile", "email", "wechat", "visit"),
    "closed_lost_reason": ("price", "competitor", "no_budget", "no_decision", "product_fit"),
    "task_status": ("not_started", "in_progress", "completed", "deferred"),
    "priority": ("high", "normal", "low"),
    "event_type": ("call", "meeting", "visit", "demo"),
    "threat_level": ("high", "medium", "low"),
    "case_priority": ("urgent", "high", "normal", "low"),
    "campaign_type": ("conference", "webinar", "trade_show", "email", "advertisement", "direct_mail", "telemarketing",
                      "other"),
    "campaign_status": ("planned", "in_progress", "completed", "aborted"),
    "member_status": ("planned", "sent", "received", "opened", "responded", "unsubscribed"),
    "case_channel": ("phone", "other"),
    "case_target": ("company", "call_centre"),
    "article_category": ("faq", "troubleshooting", "policy", "product", "safety", "other"),
    "company_type": ("manufacturer", "distributor", "service_provider", "software_vendor", "other"),
    "contact_role": ("decision_maker", "influencer", "evaluator", "user", "other"),
    "forecast_category": ("pipeline", "best_case", "commit", "omitted"),
}

_GENERIC = ("create", "update", "delete", "restore", "transfer", "import", "export")
_EXTRA = {
    "lead": ("convert",),
    "opportunity": ("stage_change", "reopen", "add_line", "update_line", "remove_line",
                    "add_competitor", "remove_competitor", "add_contact_role", "remove_contact_role",
                    "set_primary_contact", "add_partner", "remove_partner"),
    "activity": ("log_call", "complete"),
    # The workflow contract (workflows/README.md): a state change, linking the article that solved a case.
    "case": ("transition", "solved_by", "bulk_create", "bulk_transition"),
    "campaign": ("add_member", "add_members", "update_member", "remove_member", "import_members"),
    "article": ("publish", "unpublish"),
}
# Verbs whose log entry names the parent record (object_type is the parent's type).
_ON_PARENT = ("note.create", "note.delete", "attachment.upload", "attachment.delete")

# Verbs of analyses rather than records: an RFM segment saved as a tag on its accounts (object type "segment").
_ANALYSIS = ("segment.save",)

VERBS: tuple[str, ...] = tuple(
    [f"{noun}.{verb}" for noun in RECORD_FIELDS for verb in (*_GENERIC, *_EXTRA.get(noun, ()))] + list(_ON_PARENT)
    + list(_ANALYSIS)
)

# Verbs that add a child row to a record (or name one): `per: parent` counts the records instead of the rows.
CHILD_VERBS = ("opportunity.add_line", "opportunity.add_competitor", "opportunity.add_contact_role",
               "opportunity.set_primary_contact", "opportunity.add_partner", "note.create", "attachment.upload")

# Records an activity can be about (sandbox/activities/services.py RELATED_TYPES).
ACTIVITY_RELATED = ("lead", "account", "contact", "opportunity", "campaign", "case")


def object_types(verb: str) -> tuple[str, ...]:
    """The object_type a log entry of `verb` can carry."""
    if verb in _ON_PARENT:
        return tuple(RECORD_FIELDS)
    return (verb.split(".", 1)[0],)


def subject_types(verb: str) -> tuple[str, ...]:
    """The record a `verb` is about for sequence checks (an activity counts for its related record)."""
    if verb.startswith("activity."):
        return ACTIVITY_RELATED
    return object_types(verb)
