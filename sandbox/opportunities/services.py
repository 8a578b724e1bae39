"""Opportunity services: stages with default probabilities and history, closing and reopening."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import gettext as _

from ..accounts.models import Account
from ..clock import today, utcnow
from ..codes.services import extra
from ..extensions import db
from ..i18n import N_
from ..oplog import current_actor, current_op, operation, register_verbs
from ..records.lookups import visible_or_none
from ..records.services import RecordError, _check_write, create_record, update_record
from .lines import has_lines
from .models import Opportunity, StageHistory

PAST_CLOSE_WARNING_DAYS = 30


def is_closed(stage: str | None) -> bool:
    """A stage whose code-table extra says closed (won or lost)."""
    return bool(extra("opportunity_stage", stage).get("closed"))


def is_won(stage: str | None) -> bool:
    """A stage whose code-table extra says won."""
    return bool(extra("opportunity_stage", stage).get("won"))


def default_probability(stage: str) -> int:
    """The probability (%) a stage sets by default."""
    return int(extra("opportunity_stage", stage).get("probability", 0))


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    data = {**data, "account_id": data.get("account_id") or None}
    if data["account_id"] and visible_or_none(Account, data["account_id"]) is None:
        raise RecordError(_("Choose an account you can see."), "account_id")
    if data.get("amount") is not None and data["amount"] < 0:
        raise RecordError(_("Must not be negative."), "amount")
    stage = data.get("stage")
    if stage == "closed_lost" and not data.get("lost_reason"):
        raise RecordError(_("Say why the opportunity was lost."), "lost_reason")
    if stage and stage != "closed_lost":
        data["lost_reason"] = None
    return data


def past_close_warning(opp: Opportunity) -> str | None:
    """A warning (not an error) for an open opportunity whose close date lies far in the past."""
    if opp.close_date and not is_closed(opp.stage) and opp.close_date < today() - timedelta(days=PAST_CLOSE_WARNING_DAYS):
        return _("The close date %(d)s is long past for an open opportunity; update it or close the deal.",
                 d=opp.close_date.isoformat())
    return None


def create_opportunity(cls: type, data: dict[str, Any], owner: Any = None) -> Opportunity:
    """Create an opportunity at its stage's default probability, with its first history row."""
    data = _clean(data)
    stage = data.get("stage") or "prospecting"
    data["probability"] = default_probability(stage)
    if is_closed(stage):
        data["closed_at"] = utcnow()
    return create_record(Opportunity, data, owner, after=lambda opp: record_stage(opp, None, stage))


def update_opportunity(obj: Opportunity, data: dict[str, Any], expected_version: int | None = None) -> Opportunity:
    """Save the fields; a stage change is its own logged operation (grading counts stage moves)."""
    if has_lines(obj):  # the amount follows the product lines: the form's value is ignored
        data = {k: v for k, v in data.items() if k != "amount"}
    data = _clean(data)
    new_stage = data.pop("stage", obj.stage)
    if new_stage != obj.stage and is_closed(obj.stage):
        raise RecordError(_("This opportunity is closed. Reopen it before changing the stage."), "stage")
    update_record(obj, data, expected_version=expected_version)
    if new_stage != obj.stage:
        change_stage(obj, new_stage, data.get("lost_reason"))
    return obj


@operation("opportunity.stage_change")
def change_stage(opp: Opportunity, stage: str, lost_reason: str | None = None) -> Opportunity:
    """Move to another stage: default probability, history row, closing time."""
    _check_write(opp)
    if is_closed(opp.stage):
        raise RecordError(_("This opportunity is closed. Reopen it before changing the stage."), "stage")
    if stage == "closed_lost" and not (lost_reason or opp.lost_reason):
        raise RecordError(_("Say why the opportunity was lost."), "lost_reason")
    before = opp.stage
    opp.stage = stage
    opp.probability = default_probability(stage)
    if stage == "closed_lost":
        opp.lost_reason = lost_reason or opp.lost_reason
    if is_closed(stage):
        opp.closed_at = utcnow()
    record_stage(opp, before, stage)
    # Codes, not labels: the log renders them in each reader's language (sandbox/log/render.py).
    current_op().target(opp, from_stage=before, to_stage=stage)
    return opp


@operation("opportunity.reopen")
def reopen(opp: Opportunity) -> Opportunity:
    """Reopen a closed opportunity at the last open stage it had."""
    _check_write(opp)
    if not is_closed(opp.stage):
        raise RecordError(_("This opportunity is open already."))
    previous = next((h.from_stage for h in reversed(opp.history) if h.from_stage and not is_closed(h.from_stage)),
                    "negotiation")
    before = opp.stage
    opp.stage, opp.probability, opp.closed_at, opp.lost_reason = previous, default_probability(previous), None, None
    record_stage(opp, before, previous)
    current_op().target(opp, to_stage=previous)
    return opp


def record_stage(opp: Opportunity, before: str | None, after: str) -> None:
    """Add a stage history row for a move made by the acting user (None: the system)."""
    db.session.add(StageHistory(opportunity_id=opp.id, from_stage=before, to_stage=after,
                                changed_by_id=getattr(current_actor(), "id", None)))


register_verbs({
    "opportunity.create": N_("created opportunity %(label)s"),
    "opportunity.update": N_("edited opportunity %(label)s"),
    "opportunity.transfer": N_("transferred opportunity %(label)s from %(old_owner)s to %(new_owner)s"),
    "opportunity.delete": N_("deleted opportunity %(label)s"),
    "opportunity.restore": N_("restored opportunity %(label)s"),
    "opportunity.stage_change": N_("moved opportunity %(label)s from %(from_stage)s to %(to_stage)s"),
    "opportunity.reopen": N_("reopened opportunity %(label)s at %(to_stage)s"),
})
