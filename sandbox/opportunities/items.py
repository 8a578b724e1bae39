"""What the opportunity page shows of its lines and parties: batch-loaded rows and picker choices.

A fixed number of queries whatever the number of rows: one per kind of child row, one per kind of
referenced record (through visibility: what the viewer may not read shows as not visible), and one
per picker.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..accounts.models import Account
from ..competitors.models import Competitor
from ..contacts.models import Contact
from ..extensions import db
from ..money import money_of
from ..products.models import Product
from ..records.display import reference_label
from ..records.forms import ConfirmForm
from .item_forms import ContactRoleForm, LineForm, OpportunityCompetitorForm, PartnerForm
from .models import Opportunity
from .related_models import OpportunityCompetitor, OpportunityContactRole, OpportunityLine, OpportunityPartner

PICKER_LIMIT = 500


def _by_id(model: Any, ids: set[int], columns: tuple[str, ...]) -> dict[int, Any]:
    """Id and `columns` of the visible records of `model` with these ids, in one query (rows, not entities: the
    page shows a few columns of each; the visibility rule applies to a column SELECT of the model all the same)."""
    if not ids:
        return {}
    return {r.id: r for r in db.session.execute(
        select(model.id, *(getattr(model, c) for c in columns)).where(model.id.in_(sorted(ids)))
        .execution_options(by_key=True))}  # by primary key, as records/display.py's by_ids


def _class_records(model: Any, opp: Opportunity, *where: Any, columns: tuple[str, ...] = ("name",)) -> list[Any]:
    """Id and `columns` of the records the viewer sees in the opportunity's class (a teacher above two classes
    sees only this one). Rows, not ORM objects: four pickers of up to 500 records each cost more to build as
    entities than to query (the visibility rule applies to a column SELECT of the model all the same)."""
    return list(db.session.execute(
        select(model.id, *(getattr(model, c) for c in columns)).where(model.class_id == opp.class_id, *where)
        .order_by(model.created_at.desc(), model.id.desc()).limit(PICKER_LIMIT)))


def _choices(rows: list[Any], exclude: set[int], label: Any = None) -> list[tuple[int, str]]:
    label = label or (lambda r: r.name)  # the name is the audit label of contacts, accounts and competitors
    result = sorted(((r.id, label(r)) for r in rows if r.id not in exclude), key=lambda item: item[1])
    return [(0, "—"), *result]


def _taken(model: Any, fk: str, opp: Opportunity) -> set[int]:
    return set(db.session.scalars(select(getattr(model, fk)).where(model.opportunity_id == opp.id)))


def product_choices(opp: Opportunity) -> list[tuple[int, str]]:
    """Active products of the opportunity's class as (id, 'code name · price')."""
    rows = _class_records(Product, opp, Product.active.is_(True), columns=("code", "name", "list_price"))
    return _choices(rows, set(), lambda p: f"{p.code} {p.name} · {money_of(p.list_price, opp.class_id)}")


def contact_choices(opp: Opportunity, exclude: set[int] | None = None) -> list[tuple[int, str]] | dict[str, list]:
    """Contacts for a role: the opportunity's account's own first (their own group), then the class's others."""
    taken = _taken(OpportunityContactRole, "contact_id", opp) if exclude is None else exclude
    others = _class_records(Contact, opp, columns=("name", "account_id"))
    # The account's name as the page's account field shows it (one query for both); None also when not visible.
    account_name = reference_label(Account, opp.account_id) if opp.account_id else None
    if account_name is None:
        return _choices(others, taken)
    if len(others) < PICKER_LIMIT:  # every contact the viewer sees in the class: the account's own are among them
        own = [c for c in others if c.account_id == opp.account_id]
    else:
        own = _class_records(Contact, opp, Contact.account_id == opp.account_id)
    own_ids = {c.id for c in own}
    first = _choices(own, taken)
    if len(first) == 1:  # the account has no contact left to add
        return _choices(others, taken)
    rest = _choices(others, taken | own_ids)[1:]
    groups = {_("Contacts of %(account)s", account=account_name): first}
    return {**groups, _("Other contacts"): rest} if rest else groups


def account_choices(opp: Opportunity, exclude: set[int] | None = None) -> list[tuple[int, str]]:
    """Accounts of the opportunity's class that may become partners (not its own, not taken)."""
    taken = _taken(OpportunityPartner, "account_id", opp) if exclude is None else exclude
    return _choices(_class_records(Account, opp), taken | {opp.account_id or 0})


def competitor_choices(opp: Opportunity, exclude: set[int] | None = None) -> list[tuple[int, str]]:
    """Competitors of the opportunity's class not listed on it yet."""
    taken = _taken(OpportunityCompetitor, "competitor_id", opp) if exclude is None else exclude
    return _choices(_class_records(Competitor, opp), taken)


def _children(model: Any, opp: Opportunity, *columns: str) -> list[Any]:
    """Id and `columns` of the opportunity's child rows of one kind, in the order they were added (rows: the
    page only reads them)."""
    return list(db.session.execute(
        select(model.id, *(getattr(model, c) for c in columns)).where(model.opportunity_id == opp.id)
        .order_by(model.id)))


def detail_context(opp: Opportunity, writable: bool) -> dict[str, Any]:
    """Rows, totals and (for writers) the inline forms of the opportunity page."""
    line_rows = _children(OpportunityLine, opp, "product_id", "quantity", "unit_price", "discount", "total")
    role_rows = _children(OpportunityContactRole, opp, "contact_id", "role", "is_primary")
    partner_rows = _children(OpportunityPartner, opp, "account_id", "note")
    competitor_rows = _children(OpportunityCompetitor, opp, "competitor_id", "note")
    products = _by_id(Product, {r.product_id for r in line_rows}, ("code", "name", "unit"))
    contacts = _by_id(Contact, {r.contact_id for r in role_rows}, ("name", "title"))
    accounts = _by_id(Account, {r.account_id for r in partner_rows}, ("name",))
    competitors = _by_id(Competitor, {r.competitor_id for r in competitor_rows}, ("name", "threat_level"))
    context: dict[str, Any] = {
        "lines": [(r, products.get(r.product_id)) for r in line_rows],
        "lines_total": sum((Decimal(r.total) for r in line_rows), Decimal("0")),
        "roles": [(r, contacts.get(r.contact_id)) for r in role_rows],
        "partners": [(r, accounts.get(r.account_id)) for r in partner_rows],
        "competitors": [(r, competitors.get(r.competitor_id)) for r in competitor_rows],
        "forms": None,
    }
    if writable and not opp.is_deleted:
        line_form, role_form = LineForm(formdata=None), ContactRoleForm(formdata=None)
        partner_form, competitor_form = PartnerForm(formdata=None), OpportunityCompetitorForm(formdata=None)
        line_form.product_id.choices = product_choices(opp)
        line_form.unit_price.description = ""  # the inline field says "List price" as its placeholder
        role_form.contact_id.choices = contact_choices(opp, {r.contact_id for r in role_rows})
        partner_form.account_id.choices = account_choices(opp, {r.account_id for r in partner_rows})
        competitor_form.competitor_id.choices = competitor_choices(opp, {r.competitor_id for r in competitor_rows})
        context["forms"] = {"line": line_form, "role": role_form, "partner": partner_form,
                            "competitor": competitor_form, "confirm": ConfirmForm(formdata=None)}
    return context
