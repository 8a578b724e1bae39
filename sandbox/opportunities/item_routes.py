"""Routes for an opportunity's lines, contact roles, partners and competitors (on the opportunities blueprint).

Each change needs write access to the opportunity (403 otherwise); every picked record is looked up
through visibility and must belong to the opportunity's class, so a forged id answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..access import get_writable_or_404
from ..accounts.models import Account
from ..boundary import attempt
from ..competitors.models import Competitor
from ..contacts.models import Contact
from ..extensions import db
from ..money import money_of
from ..products.models import Product
from ..records.forms import ConfirmForm
from ..records.lookups import visible_or_none
from ..records.rendered import options_html
from . import bp, items, lines, parties
from .item_forms import ContactRoleForm, LineForm, LineValuesForm, OpportunityCompetitorForm, PartnerForm
from .models import Opportunity
from .related_models import OpportunityCompetitor, OpportunityContactRole, OpportunityLine, OpportunityPartner


def _pick(model: Any, ident: int | None, opp: Opportunity) -> Any:
    """A record the viewer sees, of the opportunity's class; anything else is 404."""
    obj = visible_or_none(model, ident)
    if obj is None or obj.class_id != opp.class_id:
        abort(404)
    return obj


def _child(model: Any, ident: int, opp: Opportunity) -> Any:
    row = db.session.get(model, ident)
    if row is None or row.opportunity_id != opp.id:
        abort(404)
    return row


def _back(opp: Opportunity, anchor: str) -> Any:
    return redirect(url_for("opportunities.detail", record_id=opp.id, _anchor=anchor))


def _form_page(opp: Opportunity, form: Any, title: str, fields: list[str], status: int = 200) -> tuple[str, int]:
    """The form on a page of its own: shown on GET, and again with messages when a submission fails."""
    return render_template("opportunities/item_form.html", opp=opp, form=form, title=title, fields=fields), \
        max(status, 400 if form.errors else 200)


def _save(opp: Opportunity, form: Any, anchor: str, message: str | Callable[[], str], action: Any
          ) -> tuple[Any, int]:
    """Run a service; on success go back (the boundary commits), on a refusal put the message next to its field.

    `message` may be a callable, for a flash that tells what the change did (read after the service ran).
    Returns (the redirect, 302), or (None, the refusal's status) for the form page shown again."""
    with attempt(form) as outcome:
        action()
    if outcome.failed:
        return None, outcome.status
    flash(message() if callable(message) else message, "success")
    return _back(opp, anchor), 302


def _confirmed(opp: Opportunity, anchor: str, message: str, action: Any) -> Any:
    """Run a one-click service (a confirmed POST) and go back to the opportunity; a refusal is flashed."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt() as outcome:
        action()
    if not outcome.failed:
        flash(message, "success")
    return _back(opp, anchor)


# ---- the inline forms' pickers -------------------------------------------------------------------

@bp.get("/<int:record_id>/pickers")
def pickers(record_id: int) -> Any:
    """The options of the opportunity page's four pickers, {field name: HTML of its options}: the page asks for
    them when a form is reached for (static/js/opportunity-pickers.js). Writers only, as the forms are."""
    opp = get_writable_or_404(Opportunity, record_id)  # a deleted deal is not found: it has no forms
    response = jsonify({field: str(options_html(choices)) for field, choices in items.picker_choices(opp).items()})
    response.headers["Cache-Control"] = "no-store"  # the choices change with every record added or taken
    return response


# ---- product lines -------------------------------------------------------------------------------

@bp.route("/<int:record_id>/lines/new", methods=["GET", "POST"])
def line_add(record_id: int) -> Any:
    """Put a product on the opportunity (the form, and its submission)."""
    opp = get_writable_or_404(Opportunity, record_id)
    form = LineForm()
    form.product_id.choices = items.product_choices(opp)
    status = 200
    if form.validate_on_submit():
        product = _pick(Product, form.product_id.data, opp)
        typed = lines.typed_amount(opp)
        done, status = _save(opp, form, "lines", lambda: _line_added(opp, product, typed),
                             lambda: lines.add_line(opp, product, form.quantity.data, form.unit_price.data,
                                                    form.discount.data))
        if done is not None:
            return done
    return _form_page(opp, form, _("Add a product"), ["product_id", "quantity", "unit_price", "discount"], status)


def _line_added(opp: Opportunity, product: Product, typed: Any) -> str:
    """The flash after adding a line: the new amount, and, as Salesforce says it, that a typed amount now
    follows the lines."""
    amount = money_of(opp.amount, opp)
    if typed is not None:
        return _("Product %(name)s added. The amount you had entered (%(typed)s) now follows the product lines: "
                 "%(amount)s.", name=product.audit_label, typed=money_of(typed, opp), amount=amount)
    return _("Product %(name)s added. Amount: %(amount)s.", name=product.audit_label, amount=amount)


@bp.route("/<int:record_id>/lines/<int:line_id>/edit", methods=["GET", "POST"])
def line_edit(record_id: int, line_id: int) -> Any:
    """Change a product line's quantity, unit price or discount."""
    opp = get_writable_or_404(Opportunity, record_id)
    line = _child(OpportunityLine, line_id, opp)
    product = visible_or_none(Product, line.product_id)
    form = LineValuesForm(obj=line) if request.method == "GET" else LineValuesForm()
    status = 200
    if form.validate_on_submit():
        unit_price = form.unit_price.data if form.unit_price.data is not None else line.unit_price
        done, status = _save(opp, form, "lines", _("Changes saved."),
                             lambda: lines.update_line(opp, line, product, form.quantity.data, unit_price,
                                                       form.discount.data))
        if done is not None:
            return done
    title = _("Edit the line %(name)s", name=product.audit_label if product else _("(not visible to you)"))
    return _form_page(opp, form, title, ["quantity", "unit_price", "discount"], status)


@bp.post("/<int:record_id>/lines/<int:line_id>/remove")
def line_remove(record_id: int, line_id: int) -> Any:
    """Take a product line off the opportunity."""
    opp = get_writable_or_404(Opportunity, record_id)
    line = _child(OpportunityLine, line_id, opp)
    product = visible_or_none(Product, line.product_id)
    return _confirmed(opp, "lines", _("Product line removed."),
                      lambda: lines.remove_line(opp, line, product))


# ---- contact roles -------------------------------------------------------------------------------

@bp.route("/<int:record_id>/contact-roles/new", methods=["GET", "POST"])
def contact_role_add(record_id: int) -> Any:
    """Give a contact a role on the opportunity."""
    opp = get_writable_or_404(Opportunity, record_id)
    form = ContactRoleForm()
    form.contact_id.choices = items.contact_choices(opp)
    status = 200
    if form.validate_on_submit():
        contact = _pick(Contact, form.contact_id.data, opp)
        done, status = _save(opp, form, "contact-roles", _("Contact %(name)s added.", name=contact.name),
                      lambda: parties.add_contact_role(opp, contact, form.role.data, form.is_primary.data))
        if done is not None:
            return done
    return _form_page(opp, form, _("Add a contact role"), ["contact_id", "role", "is_primary"], status)


@bp.post("/<int:record_id>/contact-roles/<int:role_id>/primary")
def contact_role_primary(record_id: int, role_id: int) -> Any:
    """Make a contact role the opportunity's primary contact."""
    opp = get_writable_or_404(Opportunity, record_id)
    row = _child(OpportunityContactRole, role_id, opp)
    name = getattr(visible_or_none(Contact, row.contact_id), "name", f"#{row.contact_id}")
    return _confirmed(opp, "contact-roles", _("%(name)s is now the primary contact.", name=name),
                      lambda: parties.set_primary_contact(opp, row, name))


@bp.post("/<int:record_id>/contact-roles/<int:role_id>/remove")
def contact_role_remove(record_id: int, role_id: int) -> Any:
    """Take a contact role off the opportunity."""
    opp = get_writable_or_404(Opportunity, record_id)
    row = _child(OpportunityContactRole, role_id, opp)
    name = getattr(visible_or_none(Contact, row.contact_id), "name", f"#{row.contact_id}")
    return _confirmed(opp, "contact-roles", _("Contact role removed."),
                      lambda: parties.remove_contact_role(opp, row, name))


# ---- partners ------------------------------------------------------------------------------------

@bp.route("/<int:record_id>/partners/new", methods=["GET", "POST"])
def partner_add(record_id: int) -> Any:
    """Add a partner account to the opportunity."""
    opp = get_writable_or_404(Opportunity, record_id)
    form = PartnerForm()
    form.account_id.choices = items.account_choices(opp)
    status = 200
    if form.validate_on_submit():
        account = _pick(Account, form.account_id.data, opp)
        done, status = _save(opp, form, "partners", _("Partner %(name)s added.", name=account.name),
                      lambda: parties.add_partner(opp, account, form.note.data))
        if done is not None:
            return done
    return _form_page(opp, form, _("Add a partner"), ["account_id", "note"], status)


@bp.post("/<int:record_id>/partners/<int:partner_id>/remove")
def partner_remove(record_id: int, partner_id: int) -> Any:
    """Take a partner off the opportunity."""
    opp = get_writable_or_404(Opportunity, record_id)
    row = _child(OpportunityPartner, partner_id, opp)
    name = getattr(visible_or_none(Account, row.account_id), "name", f"#{row.account_id}")
    return _confirmed(opp, "partners", _("Partner removed."), lambda: parties.remove_partner(opp, row, name))


# ---- competitors ---------------------------------------------------------------------------------

@bp.route("/<int:record_id>/competitors/new", methods=["GET", "POST"])
def competitor_add(record_id: int) -> Any:
    """List a competitor on the opportunity."""
    opp = get_writable_or_404(Opportunity, record_id)
    form = OpportunityCompetitorForm()
    form.competitor_id.choices = items.competitor_choices(opp)
    status = 200
    if form.validate_on_submit():
        competitor = _pick(Competitor, form.competitor_id.data, opp)
        done, status = _save(opp, form, "competitors", _("Competitor %(name)s added.", name=competitor.name),
                      lambda: parties.add_competitor(opp, competitor, form.note.data))
        if done is not None:
            return done
    return _form_page(opp, form, _("Add a competitor"), ["competitor_id", "note"], status)


@bp.post("/<int:record_id>/competitors/<int:row_id>/remove")
def competitor_remove(record_id: int, row_id: int) -> Any:
    """Take a competitor off the opportunity."""
    opp = get_writable_or_404(Opportunity, record_id)
    row = _child(OpportunityCompetitor, row_id, opp)
    name = getattr(visible_or_none(Competitor, row.competitor_id), "name", f"#{row.competitor_id}")
    return _confirmed(opp, "competitors", _("Competitor removed."),
                      lambda: parties.remove_competitor(opp, row, name))
