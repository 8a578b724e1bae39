"""Lead conversion (升级): account (new or existing), contact (new or matched), optional opportunity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from .. import faults
from ..accounts.models import Account
from ..accounts.services import create_account
from ..activities.services import move_open_activities
from ..clock import utcnow
from ..contacts.models import Contact
from ..contacts.services import create_contact
from ..extensions import db
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..opportunities.models import Opportunity
from ..opportunities.services import create_opportunity
from ..records.lookups import visible_or_none
from ..records.services import RecordError, _check_write
from .models import Lead


@dataclass
class ConversionRequest:
    """What the user chose on the convert page."""

    account_mode: str  # "new" or "existing"
    account_id: int | None = None
    contact_id: int | None = None  # an existing matching contact instead of a new one
    create_opportunity: bool = False
    opportunity_name: str | None = None
    amount: Decimal | None = None
    close_date: date | None = None
    stage: str = "prospecting"


@dataclass
class ConversionResult:
    """What a conversion produced."""

    account: Account
    contact: Contact
    opportunity: Opportunity | None


def _account(lead: Lead, req: ConversionRequest) -> Account:
    """The account the lead becomes: an existing visible one, or a new one from the lead's company data."""
    if req.account_mode == "existing":
        account = visible_or_none(Account, req.account_id)
        if account is None:
            raise RecordError(_("Choose an account you can see."), "account_id")
        return account
    if req.account_mode == "new":
        return create_account(Account, {
            "name": lead.company or lead.name, "industry": lead.industry, "rating": lead.rating,
            "source": lead.source, "phone": lead.phone, "website": lead.website, "email": None,
            "billing_address": lead.address, "employees": lead.employees, "annual_revenue": lead.annual_revenue,
            "type": "prospect", "description": lead.description,
        })
    raise RecordError(_("Choose whether to create a new account or use an existing one."), "account_mode")


def _contact(lead: Lead, req: ConversionRequest, account: Account) -> Contact:
    """The contact the lead becomes: a matching visible one, or a new one from the lead's person data."""
    if req.contact_id:
        contact = visible_or_none(Contact, req.contact_id)
        if contact is None:
            raise RecordError(_("Choose a contact you can see."), "contact_id")
        return contact
    return create_contact(Contact, {
        "name": lead.name, "account_id": account.id, "title": lead.title, "phone": lead.phone,
        "mobile": lead.mobile, "email": lead.email, "address": lead.address, "source": lead.source,
    })


def _opportunity(lead: Lead, req: ConversionRequest, account: Account) -> Opportunity | None:
    """The opportunity asked for, if any (named, a non-negative amount, a close date)."""
    if not req.create_opportunity:
        return None
    if not (req.opportunity_name or "").strip():
        raise RecordError(_("Name the opportunity."), "opportunity_name")
    if req.amount is not None and req.amount < 0:
        raise RecordError(_("Must not be negative."), "amount")
    if req.close_date is None:
        raise RecordError(_("Give the expected close date."), "close_date")
    return create_opportunity(Opportunity, {
        "name": req.opportunity_name.strip(), "account_id": account.id, "amount": req.amount,
        "close_date": req.close_date, "stage": req.stage, "source": lead.source, "type": "new_business",
        # The campaign that produced the lead is credited with the deal (its won amount and ROI).
        "campaign_id": lead.campaign_id,
    })


@operation("lead.convert")
def convert_lead(lead: Lead, req: ConversionRequest) -> ConversionResult:
    """Turn a lead into account + contact (+ opportunity) in one transaction; the lead becomes read-only."""
    if lead.is_converted:
        raise RecordError(_("This lead was converted already; open what it produced instead."))
    _check_write(lead)
    account = _account(lead, req)
    contact = _contact(lead, req, account)
    opportunity = _opportunity(lead, req, account)
    # Open tasks and future events follow the person: the lead is read-only from now on.
    move_open_activities("lead", lead.id, "contact", contact.id)
    lead.status = "converted"
    lead.converted_at = utcnow()
    lead.converted_account_id = account.id
    lead.converted_contact_id = contact.id
    lead.converted_opportunity_id = opportunity.id if opportunity else None
    current_op().target(lead, account=account.name, contact=contact.name,
                        opportunity=opportunity.name if opportunity else "—")
    db.session.flush()  # every row written, not yet committed, when a crash test stops here
    faults.checkpoint("convert.done")
    return ConversionResult(account, contact, opportunity)


register_verbs({
    "lead.convert": N_("converted lead %(label)s → account %(account)s, contact %(contact)s, opportunity %(opportunity)s"),
})
