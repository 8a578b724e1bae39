"""The lead's convert page (升级): offers matching accounts and contacts, then calls `convert_lead`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..access import get_writable_or_404
from ..accounts.models import Account
from ..accounts.services import similar_accounts
from ..boundary import attempt
from ..clock import today
from ..codes.services import choices
from ..contacts.services import matching_contacts
from ..records.lookups import visible_choices, visible_or_none
from . import bp
from .conversion import ConversionRequest, ConversionResult, convert_lead
from .forms import ConvertForm
from .models import Lead


@dataclass
class _Offer:
    """The convert form with the matches it offers (starred first)."""

    form: ConvertForm
    account_matches: list[Any]
    contact_matches: list[Any]
    matched: bool = False  # whether the matches and the pickers' choices are read (see _offer)


def _offer(lead: Lead) -> _Offer:
    """The convert form: accounts matching the company and contacts matching the email or phone come first.

    A submission that picks neither an existing account nor an existing contact (0 is always a choice of
    both) is validated without reading the matches and the account picker: they are read only when the page
    is shown (`_matched`), a refusal included, so the page is the same."""
    form = ConvertForm()
    form.stage.choices = [c for c in choices("opportunity_stage") if c[0] not in ("closed_won", "closed_lost")]
    offer = _Offer(form, [], [])
    if request.method == "POST" and form.account_id.data == 0 and form.contact_id.data == 0:
        form.account_id.choices = [(0, "—")]
        form.contact_id.choices = [(0, _("Create a new contact from the lead"))]
        return offer
    _matched(offer, lead)
    if request.method == "GET":
        account_matches = offer.account_matches
        form.account_mode.data = "existing" if account_matches else "new"
        form.account_id.data = account_matches[0].id if account_matches else 0
        form.opportunity_name.data = _("%(company)s · new business", company=lead.company or lead.name)
        form.close_date.data = today() + timedelta(days=30)
    return offer


def _matched(offer: _Offer, lead: Lead) -> _Offer:
    """Read the matches and fill the pickers' choices (once)."""
    if offer.matched:
        return offer
    account_matches = similar_accounts(lead.company or lead.name)
    contact_matches = matching_contacts(lead.email, lead.phone or lead.mobile)
    form = offer.form
    matches = [(a.id, f"★ {a.name}") for a in account_matches]
    others = [c for c in visible_choices(Account, blank=False) if c[0] not in {a.id for a in account_matches}]
    form.account_id.choices = [(0, "—"), *matches, *others]
    form.contact_id.choices = [(0, _("Create a new contact from the lead"))] + [
        (c.id, f"★ {c.name} · {c.email or c.phone or c.mobile or ''}") for c in contact_matches]
    offer.account_matches, offer.contact_matches, offer.matched = account_matches, contact_matches, True
    return offer


def _request(form: ConvertForm) -> ConversionRequest:
    """What the user asked for, as the conversion service takes it."""
    return ConversionRequest(
        account_mode=form.account_mode.data, account_id=form.account_id.data or None,
        contact_id=form.contact_id.data or None, create_opportunity=form.create_opportunity.data,
        opportunity_name=form.opportunity_name.data, amount=form.amount.data,
        close_date=form.close_date.data, stage=form.stage.data,
    )


def _existing_account_missing(form: ConvertForm) -> bool:
    """Whether "existing account" was chosen without choosing one (a forged invisible id is a 404)."""
    if form.account_mode.data != "existing" or visible_or_none(Account, form.account_id.data) is not None:
        return False
    if form.account_id.data:
        abort(404)  # a forged id for an account the user cannot see
    form.account_id.errors.append(_("Choose the existing account."))
    return True


def _converted(result: ConversionResult) -> Any:
    """Tell what the conversion produced and open the opportunity (else the account)."""
    flash(_("Lead converted: account %(a)s, contact %(c)s.", a=result.account.name, c=result.contact.name),
          "success")
    if result.opportunity:
        return redirect(url_for("opportunities.detail", record_id=result.opportunity.id))
    return redirect(url_for("accounts.detail", record_id=result.account.id))


@bp.route("/<int:record_id>/convert", methods=["GET", "POST"])
def convert(record_id: int) -> Any:
    """Convert a lead: matches for the account (by company) and the contact (by email or phone) are offered."""
    lead = get_writable_or_404(Lead, record_id)
    if lead.is_converted:
        flash(_("This lead was converted already; open what it produced instead."), "warning")
        return redirect(url_for("leads.detail", record_id=lead.id))
    offer = _offer(lead)
    form = offer.form
    if form.validate_on_submit() and not _existing_account_missing(form):
        with attempt(form, "account_mode") as outcome:
            result = convert_lead(lead, _request(form))
        if not outcome.failed:
            return _converted(result)
    _matched(offer, lead)
    return render_template("leads/convert.html", form=form, lead=lead, account_matches=offer.account_matches,
                           contact_matches=offer.contact_matches), (400 if form.errors else 200)
