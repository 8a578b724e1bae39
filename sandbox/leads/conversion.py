"""Lead conversion (升级): account (new or existing), contact (new or matched), optional opportunity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from ..accounts.models import Account
from ..accounts.services import create_account
from ..activities.services import move_open_activities
from ..contacts.models import Contact
from ..contacts.services import create_contact
from ..i18n import N_
from ..oplog import current_op, operation, register_verbs
from ..opportunities.models import Opportunity
from ..opportunities.services import create_opportunity
from ..org.models import utcnow
from ..records.lookups import visible_or_none
from ..records.services import RecordError, _check_write
from .models import Lead


@dataclass
class ConversionRequest:
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
    account: Account
    contact: Contact
    opportunity: Opportunity | None


@operation("lead.convert")
def convert_lead(lead: Lead, req: ConversionRequest) -> ConversionResult:
    """Turn a lead into account + contact (+ opportunity) in one transaction; the lead becomes read-only."""
    if lead.is_converted:
        raise RecordError(_("This lead was converted already; open what it produced instead."))
    _check_write(lead)
    if req.account_mode == "existing":
        account = visible_or_none(Account, req.account_id)
        if account is None:
            raise RecordError(_("Choose an account you can see."), "account_id")
    elif req.account_mode == "new":
        account = create_account(Account, {
            "name": lead.company or lead.name, "industry": lead.industry, "rating": lead.rating,
            "source": lead.source, "phone": lead.phone, "website": lead.website, "email": None,
            "billing_address": lead.address, "employees": lead.employees, "annual_revenue": lead.annual_revenue,
            "type": "prospect", "description": lead.description,
        })
    else:
        raise RecordError(_("Choose whether to create a new account or use an existing one."), "account_mode")
    if req.contact_id:
        contact = visible_or_none(Contact, req.contact_id)
        if contact is None:
            raise RecordError(_("Choose a contact you can see."), "contact_id")
    else:
        contact = create_contact(Contact, {
            "name": lead.name, "account_id": account.id, "title": lead.title, "phone": lead.phone,
            "mobile": lead.mobile, "email": lead.email, "address": lead.address, "source": lead.source,
        })
    opportunity = None
    if req.create_opportunity:
        if not (req.opportunity_name or "").strip():
            raise RecordError(_("Name the opportunity."), "opportunity_name")
        if req.amount is not None and req.amount < 0:
            raise RecordError(_("Must not be negative."), "amount")
        if req.close_date is None:
            raise RecordError(_("Give the expected close date."), "close_date")
        opportunity = create_opportunity(Opportunity, {
            "name": req.opportunity_name.strip(), "account_id": account.id, "amount": req.amount,
            "close_date": req.close_date, "stage": req.stage, "source": lead.source, "type": "new_business",
        })
    # Open tasks and future events follow the person: the lead is read-only from now on.
    move_open_activities("lead", lead.id, "contact", contact.id)
    lead.status = "converted"
    lead.converted_at = utcnow()
    lead.converted_account_id = account.id
    lead.converted_contact_id = contact.id
    lead.converted_opportunity_id = opportunity.id if opportunity else None
    current_op().target(lead, account=account.name, contact=contact.name,
                        opportunity=opportunity.name if opportunity else "—")
    return ConversionResult(account, contact, opportunity)


register_verbs({
    "lead.convert": N_("converted lead %(label)s → account %(account)s, contact %(contact)s, opportunity %(opportunity)s"),
})
