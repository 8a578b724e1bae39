"""Competitor reports: by threat level, by company type, and wins and losses against each competitor.

Competitors are readable by the whole class; the wins and losses count the opportunities the viewer
may see that met the competitor (the opportunity–competitor table), so another student's private
deals never change them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from ..competitors.models import Competitor
from ..extensions import db
from ..opportunities.related_models import OpportunityCompetitor
from ..org.models import User
from .leads import count_if
from .opportunities import closed, won
from .registry import CLASS, DEPARTMENT, OWNER, Grouping, Measure, Report, count_measure, rate_measure, register

COMPETITORS = count_measure(_l("Competitors"))

register(Report(
    "competitors", "threat", _l("Competitors by threat level"), "competitor",
    measures=[COMPETITORS], groups=["threat_level", "company_type", OWNER, CLASS], chart="pie",
    description=_l("How dangerous the competitors you track are."), order=10,
))

register(Report(
    "competitors", "company_type", _l("Competitors by company type"), "competitor",
    measures=[COMPETITORS], groups=["company_type", "threat_level", OWNER, CLASS],
    description=_l("What kind of companies you compete with."), order=20,
))


def _competitor_labels(keys: list[Any]) -> dict[Any, str]:
    """Competitor names (through the visibility rule: one the viewer cannot read shows its number); a name
    several students track (an instructor sees every book) carries its owner's name."""
    ids = [int(k) for k in keys if str(k).isdigit()]
    rows = db.session.execute(select(Competitor.id, Competitor.name, User.display_name)
                              .join(User, User.id == Competitor.owner_id).where(Competitor.id.in_(ids))).all()
    repeated = {name for name, n in Counter(r.name for r in rows).items() if n > 1}
    names = {r.id: f"{r.name} ({r.display_name})" if r.name in repeated else r.name for r in rows}
    return {k: names.get(int(k), f"#{k}") for k in keys if str(k).isdigit()}


def _met(model: Any, key: str) -> list[Any]:
    """The opportunities that met competitor `key`."""
    if not key.isdigit() or len(key) > 10:
        return [model.id.is_(None)]  # no competitor has that key: no rows, not an error
    return [model.id.in_(select(OpportunityCompetitor.opportunity_id)
                         .where(OpportunityCompetitor.competitor_id == int(key)))]


# The links the "met any competitor" EXISTS reads: an alias, so it correlates to the opportunity only,
# not to the link table the competitor grouping joins.
MET = aliased(OpportunityCompetitor)

COMPETITOR = Grouping(
    "competitor", _l("Competitor"), column=lambda m: OpportunityCompetitor.competitor_id, condition=_met,
    labels=_competitor_labels,
    join=lambda stmt, m: stmt.join(OpportunityCompetitor, OpportunityCompetitor.opportunity_id == m.id),
)

register(Report(
    "competitors", "wins_losses", _l("Wins and losses against each competitor"), "opportunity",
    measures=[Measure("won", _l("Won"), lambda m: count_if(won(m))),
              Measure("lost", _l("Lost"), lambda m: count_if(closed(m) & ~won(m))),
              Measure("open", _l("Still open"), lambda m: count_if(~closed(m))),
              rate_measure("win_rate", _l("Win rate (%)"), won, closed)],
    groups=["competitor", OWNER, DEPARTMENT, CLASS], groupings=[COMPETITOR], chart_measures=["won", "lost", "open"],
    date_field="close_date",
    # EXISTS probes the opportunity index per visible deal (an IN list would read every link of every class).
    where=lambda m, p: [exists().where(MET.opportunity_id == m.id)],
    description=_l("The opportunities you may see that met each competitor: won, lost, still open, and the win "
                   "rate of the closed ones."), order=30,
))
