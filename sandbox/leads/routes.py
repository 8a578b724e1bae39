"""Lead pages: the generic record views configured for leads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..access import can_write, current_viewer, get_visible_or_404
from ..accounts.models import Account
from ..accounts.services import similar_accounts
from ..clock import today
from ..codes.services import choices
from ..contacts.models import Contact
from ..contacts.services import matching_contacts
from ..extensions import db
from ..opportunities.models import Opportunity
from ..records.lookups import visible_choices, visible_or_none
from ..records.services import RecordError
from ..records.views import Column, Filter, RecordViews
from . import bp
from .conversion import ConversionRequest, convert_lead
from .forms import ConvertForm, LeadForm
from .models import Lead

FIELDS = ["name", "company", "title", "phone", "mobile", "email", "website", "address", "industry", "source",
          "status", "rating", "annual_revenue", "employees", "description"]

views = RecordViews(
    bp,
    Lead,
    LeadForm,
    singular=_l("Lead"),
    plural=_l("Leads"),
    columns=[
        Column("name", _l("Name"), link=True),
        Column("company", _l("Company")),
        Column("status", _l("Status"), code="lead_status"),
        Column("source", _l("Source"), code="lead_source"),
        Column("rating", _l("Rating"), code="rating"),
        Column("phone", _l("Phone")),
    ],
    filters=[Filter("status", _l("Status"), "lead_status"), Filter("source", _l("Source"), "lead_source"),
             Filter("rating", _l("Rating"), "rating")],
    codes={"status": "lead_status", "source": "lead_source", "industry": "industry", "rating": "rating"},
    search=["name", "company", "email", "phone", "mobile"],
    detail_fields=FIELDS,
    form_fields=FIELDS,
    detail_template="leads/detail.html",
    references={"converted_account_id": Account, "converted_contact_id": Contact,
                "converted_opportunity_id": Opportunity},
)
views.register()


@bp.route("/<int:record_id>/convert", methods=["GET", "POST"])
def convert(record_id: int) -> Any:
    """Convert a lead: matches for the account (by company) and the contact (by email or phone) are offered."""
    if not current_user.can_change:
        abort(403)
    lead = get_visible_or_404(Lead, record_id)
    if not can_write(lead, current_viewer()):
        abort(403)
    if lead.is_converted:
        flash(_("This lead was converted already; open what it produced instead."), "warning")
        return redirect(url_for("leads.detail", record_id=lead.id))
    account_matches = similar_accounts(lead.company or lead.name)
    contact_matches = matching_contacts(lead.email, lead.phone or lead.mobile)
    form = ConvertForm()
    matches = [(a.id, f"★ {a.name}") for a in account_matches]
    others = [c for c in visible_choices(Account, blank=False) if c[0] not in {a.id for a in account_matches}]
    form.account_id.choices = [(0, "—"), *matches, *others]
    form.contact_id.choices = [(0, _("Create a new contact from the lead"))] + [
        (c.id, f"★ {c.name} · {c.email or c.phone or c.mobile or ''}") for c in contact_matches]
    form.stage.choices = [c for c in choices("opportunity_stage") if c[0] not in ("closed_won", "closed_lost")]
    if request.method == "GET":
        form.account_mode.data = "existing" if account_matches else "new"
        form.account_id.data = account_matches[0].id if account_matches else 0
        form.opportunity_name.data = _("%(company)s · new business", company=lead.company or lead.name)
        form.close_date.data = today() + timedelta(days=30)
    if form.validate_on_submit():
        if form.account_mode.data == "existing" and visible_or_none(Account, form.account_id.data) is None:
            if form.account_id.data:
                abort(404)  # a forged id for an account the user cannot see
            form.account_id.errors.append(_("Choose the existing account."))
        else:
            req = ConversionRequest(
                account_mode=form.account_mode.data, account_id=form.account_id.data or None,
                contact_id=form.contact_id.data or None, create_opportunity=form.create_opportunity.data,
                opportunity_name=form.opportunity_name.data, amount=form.amount.data,
                close_date=form.close_date.data, stage=form.stage.data,
            )
            try:
                result = convert_lead(lead, req)
                db.session.commit()
            except RecordError as exc:
                db.session.rollback()
                getattr(form, exc.field or "account_mode", form.account_mode).errors.append(exc.message)
            else:
                flash(_("Lead converted: account %(a)s, contact %(c)s.", a=result.account.name, c=result.contact.name),
                      "success")
                target = ("opportunities.detail", result.opportunity.id) if result.opportunity else (
                    "accounts.detail", result.account.id)
                return redirect(url_for(target[0], record_id=target[1]))
    return render_template("leads/convert.html", form=form, lead=lead, account_matches=account_matches,
                           contact_matches=contact_matches), (400 if form.errors else 200)
