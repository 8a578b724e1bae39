"""The people and companies around an opportunity: contact roles (one primary), partners, competitors."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import Account
from ..codes.services import choices
from ..competitors.models import Competitor
from ..contacts.models import Contact
from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..records.services import RecordError
from .lines import check_writable
from .models import Opportunity
from .related_models import OpportunityCompetitor, OpportunityContactRole, OpportunityPartner


def _same_class(opp: Opportunity, obj: object, field: str, message: str) -> None:
    if getattr(obj, "class_id", None) != opp.class_id:
        raise RecordError(message, field)


def contact_roles(opp: Opportunity) -> list[OpportunityContactRole]:
    """The contact roles of an opportunity, in the order they were added."""
    return list(db.session.scalars(
        select(OpportunityContactRole).where(OpportunityContactRole.opportunity_id == opp.id)
        .order_by(OpportunityContactRole.created_at, OpportunityContactRole.id)))


@operation("opportunity.add_contact_role")
def add_contact_role(opp: Opportunity, contact: Contact, role: str, is_primary: bool = False
                     ) -> OpportunityContactRole:
    """Give a contact a role on the deal; the first one, or one marked primary, becomes the primary contact."""
    check_writable(opp)
    _same_class(opp, contact, "contact_id", _("Choose a contact of this opportunity's class."))
    if role not in dict(choices("contact_role")):
        raise RecordError(_("Choose a role from the list."), "role")
    existing = contact_roles(opp)
    if any(r.contact_id == contact.id for r in existing):
        raise RecordError(_("%(name)s has a role on this opportunity already.", name=contact.name), "contact_id")
    primary = is_primary or not existing
    if primary:
        for other in existing:
            other.is_primary = False
    row = OpportunityContactRole(opportunity_id=opp.id, contact_id=contact.id, role=role, is_primary=primary)
    db.session.add(row)
    db.session.flush()
    current_op().target(opp, contact=contact.name, role=role, child_id=row.id)  # a code: rendered when read
    return row


@operation("opportunity.set_primary_contact")
def set_primary_contact(opp: Opportunity, row: OpportunityContactRole, contact_name: str) -> None:
    """Make one contact the primary contact (the others stop being primary)."""
    check_writable(opp)
    for other in contact_roles(opp):
        other.is_primary = other.id == row.id
    current_op().target(opp, contact=contact_name, child_id=row.id)


@operation("opportunity.remove_contact_role")
def remove_contact_role(opp: Opportunity, row: OpportunityContactRole, contact_name: str) -> None:
    """Take a contact off the deal; if it was the primary one, the longest-standing other becomes primary."""
    check_writable(opp)
    was_primary = row.is_primary
    db.session.delete(row)
    db.session.flush()
    if was_primary:
        rest = contact_roles(opp)
        if rest:
            rest[0].is_primary = True
    current_op().target(opp, contact=contact_name)


@operation("opportunity.add_partner")
def add_partner(opp: Opportunity, account: Account, note: str | None = None) -> OpportunityPartner:
    """Name a partner account working the deal."""
    check_writable(opp)
    _same_class(opp, account, "account_id", _("Choose an account of this opportunity's class."))
    if account.id == opp.account_id:
        raise RecordError(_("The opportunity's own account cannot be its partner."), "account_id")
    if db.session.scalar(select(OpportunityPartner.id).where(
            OpportunityPartner.opportunity_id == opp.id, OpportunityPartner.account_id == account.id)):
        raise RecordError(_("%(name)s is a partner on this opportunity already.", name=account.name), "account_id")
    row = OpportunityPartner(opportunity_id=opp.id, account_id=account.id, note=(note or "").strip() or None)
    db.session.add(row)
    db.session.flush()
    current_op().target(opp, partner=account.name, child_id=row.id)
    return row


@operation("opportunity.remove_partner")
def remove_partner(opp: Opportunity, row: OpportunityPartner, partner_name: str) -> None:
    """Take a partner off the opportunity."""
    check_writable(opp)
    db.session.delete(row)
    current_op().target(opp, partner=partner_name)


@operation("opportunity.add_competitor")
def add_competitor(opp: Opportunity, competitor: Competitor, note: str | None = None) -> OpportunityCompetitor:
    """Record a competitor met on the deal, with a note."""
    check_writable(opp)
    _same_class(opp, competitor, "competitor_id", _("Choose a competitor of this opportunity's class."))
    if db.session.scalar(select(OpportunityCompetitor.id).where(
            OpportunityCompetitor.opportunity_id == opp.id, OpportunityCompetitor.competitor_id == competitor.id)):
        raise RecordError(_("%(name)s is listed on this opportunity already.", name=competitor.name), "competitor_id")
    row = OpportunityCompetitor(opportunity_id=opp.id, competitor_id=competitor.id,
                                note=(note or "").strip() or None)
    db.session.add(row)
    db.session.flush()
    current_op().target(opp, competitor=competitor.name, child_id=row.id)
    return row


@operation("opportunity.remove_competitor")
def remove_competitor(opp: Opportunity, row: OpportunityCompetitor, competitor_name: str) -> None:
    """Take a competitor off the opportunity."""
    check_writable(opp)
    db.session.delete(row)
    current_op().target(opp, competitor=competitor_name)


register_verbs({
    "opportunity.add_contact_role": N_("added %(contact)s as %(role)s to opportunity %(label)s"),
    "opportunity.set_primary_contact": N_("made %(contact)s the primary contact of opportunity %(label)s"),
    "opportunity.remove_contact_role": N_("removed contact %(contact)s from opportunity %(label)s"),
    "opportunity.add_partner": N_("added partner %(partner)s to opportunity %(label)s"),
    "opportunity.remove_partner": N_("removed partner %(partner)s from opportunity %(label)s"),
    "opportunity.add_competitor": N_("added competitor %(competitor)s to opportunity %(label)s"),
    "opportunity.remove_competitor": N_("removed competitor %(competitor)s from opportunity %(label)s"),
})
