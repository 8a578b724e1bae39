"""Competitor services: the generic ones, and the opportunities a competitor was met in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..codes.services import extra
from ..extensions import db
from ..i18n import N_
from ..oplog import register_verbs
from ..opportunities.models import Opportunity
from ..opportunities.related_models import OpportunityCompetitor
from .models import Competitor

OPPORTUNITY_LIMIT = 200


def competed_in(competitor: Competitor) -> dict[str, Any]:
    """The opportunities the viewer may see in which this competitor took part, with wins and losses."""
    rows = db.session.execute(
        select(Opportunity, OpportunityCompetitor.note)
        .join(OpportunityCompetitor, OpportunityCompetitor.opportunity_id == Opportunity.id)
        .where(OpportunityCompetitor.competitor_id == competitor.id)
        .order_by(Opportunity.close_date.desc(), Opportunity.id.desc())
        .limit(OPPORTUNITY_LIMIT)
    ).all()
    won = sum(1 for opp, _note in rows if extra("opportunity_stage", opp.stage).get("won"))
    lost = sum(1 for opp, _note in rows if extra("opportunity_stage", opp.stage).get("closed")
               and not extra("opportunity_stage", opp.stage).get("won"))
    return {"rows": rows, "won": won, "lost": lost, "open": len(rows) - won - lost}


register_verbs({
    "competitor.create": N_("created competitor %(label)s"),
    "competitor.update": N_("edited competitor %(label)s"),
    "competitor.transfer": N_("transferred competitor %(label)s from %(old_owner)s to %(new_owner)s"),
    "competitor.delete": N_("deleted competitor %(label)s"),
    "competitor.restore": N_("restored competitor %(label)s"),
})
