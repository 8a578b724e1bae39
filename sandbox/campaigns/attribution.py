"""The campaign a lead or an opportunity is attributed to (its `campaign_id`), checked through visibility.

Kept apart from `services.py` (which reads leads, contacts and opportunities) so that the lead and opportunity
registry entries can import it without an import cycle.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from ..errors import ServiceError
from ..numbers import DB_INT_MAX
from ..records.lookups import visible_or_none
from .models import Campaign


def clean_campaign_id(data: dict[str, Any]) -> dict[str, Any]:
    """A lead's or opportunity's `campaign_id`: 0 or empty is none; an id the viewer cannot see is refused
    next to the field (the form offers only visible campaigns; import and forged posts are checked here)."""
    if "campaign_id" not in data:
        return data
    data = {**data, "campaign_id": data.get("campaign_id") or None}
    ident = data["campaign_id"]
    if ident and (not isinstance(ident, int) or not 0 < ident <= DB_INT_MAX or visible_or_none(Campaign, ident) is None):
        raise ServiceError(_("Choose a campaign you can see."), "campaign_id")
    return data
