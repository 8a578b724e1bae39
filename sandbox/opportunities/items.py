"""What the opportunity page shows of its lines and parties: batch-loaded rows and picker choices.

A fixed number of queries whatever the number of rows: one for the child rows of every kind, each with
the record it names joined through visibility (what the viewer may not read shows as not visible), and
one for the four pickers together. The page itself sends its pickers empty: their choices are the answer of
`opportunities.pickers`, which the page asks for when one of its forms is reached for.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from functools import cache
from operator import itemgetter
from typing import Any, NamedTuple

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import Integer, Numeric, String, bindparam, cast, literal_column, null, select, union_all

from ..accounts.models import Account
from ..clock import utcnow
from ..competitors.models import Competitor
from ..contacts.models import Contact
from ..extensions import db
from ..money import money_of
from ..org.models import User
from ..products.models import Product
from ..records.display import reference_label, remember_labels
from .inline import inline_forms
from .models import Opportunity, StageHistory
from .related_models import OpportunityCompetitor, OpportunityContactRole, OpportunityLine, OpportunityPartner

PICKER_LIMIT = 500
# The inline forms' pickers, by field name.
PICKER_FIELDS = ("product_id", "contact_id", "account_id", "competitor_id")


def _picker_select(model: Any, class_id: Any, *where: Any, columns: Iterable[Any]) -> Any:
    """The newest PICKER_LIMIT records of `model` the viewer sees in a class (the opportunity's: a teacher above
    two classes sees only this one), as the id and `columns`."""
    return (select(model.id, *columns).where(model.class_id == class_id, *where)
            .order_by(model.created_at.desc(), model.id.desc()).limit(PICKER_LIMIT))


def _class_records(model: Any, opp: Opportunity, *where: Any, columns: tuple[str, ...] = ("name",)) -> list[Any]:
    """Id and `columns` of the records the viewer sees in the opportunity's class, newest first. Rows, not ORM
    objects: four pickers of up to 500 records each cost more to build as entities than to query (the
    visibility rule applies to a column SELECT of the model all the same)."""
    return list(db.session.execute(
        _picker_select(model, opp.class_id, *where, columns=[getattr(model, c) for c in columns])))


def _choices(rows: Iterable[Any], exclude: set[int], label: Any = None) -> list[tuple[int, str]]:
    # The name is the audit label of contacts, accounts and competitors (read straight from the row).
    result = [(r.id, r.name if label is None else label(r)) for r in rows if r.id not in exclude]
    result.sort(key=itemgetter(1))  # stable: equal labels keep the rows' order (newest first)
    return [(0, "—"), *result]


def _taken(model: Any, fk: str, opp: Opportunity) -> set[int]:
    return set(db.session.scalars(select(getattr(model, fk)).where(model.opportunity_id == opp.id)))


def _product_label(opp: Opportunity) -> Any:
    return lambda p: f"{p.code} {p.name} · {money_of(p.list_price, opp.class_id)}"


def product_choices(opp: Opportunity) -> list[tuple[int, str]]:
    """Active products of the opportunity's class as (id, 'code name · price')."""
    rows = _class_records(Product, opp, Product.active.is_(True), columns=("code", "name", "list_price"))
    return _choices(rows, set(), _product_label(opp))


def contact_choices(opp: Opportunity, exclude: set[int] | None = None, others: list[Any] | None = None
                    ) -> list[tuple[int, str]] | dict[str, list]:
    """Contacts for a role: the opportunity's account's own first (their own group), then the class's others.

    `others`: the class's contacts (id, name, account_id) when the caller has read them already."""
    taken = _taken(OpportunityContactRole, "contact_id", opp) if exclude is None else exclude
    if others is None:
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


def account_choices(opp: Opportunity, exclude: set[int] | None = None, rows: list[Any] | None = None
                    ) -> list[tuple[int, str]]:
    """Accounts of the opportunity's class that may become partners (not its own, not taken)."""
    taken = _taken(OpportunityPartner, "account_id", opp) if exclude is None else exclude
    return _choices(_class_records(Account, opp) if rows is None else rows, taken | {opp.account_id or 0})


def competitor_choices(opp: Opportunity, exclude: set[int] | None = None, rows: list[Any] | None = None
                       ) -> list[tuple[int, str]]:
    """Competitors of the opportunity's class not listed on it yet."""
    taken = _taken(OpportunityCompetitor, "competitor_id", opp) if exclude is None else exclude
    return _choices(_class_records(Competitor, opp) if rows is None else rows, taken)


# The four pickers' members of one UNION ALL, in one shape: (id, picker, name, code, list_price, account_id,
# created_at); the columns a picker lacks are typed NULLs.
_PICKERS = (("product", Product), ("contact", Contact), ("account", Account), ("competitor", Competitor))


@cache
def _pickers_select() -> Any:
    """The pickers' UNION ALL, built once per process (the class id is a parameter; the session adds the
    visibility rule to every execution, inside each member)."""
    text, number, money = cast(null(), String), cast(null(), Integer), cast(null(), Numeric(16, 2))

    def member(picker: str, model: Any) -> Any:
        columns = [literal_column(f"'{picker}'").label("picker"), model.name.label("name"),
                   (model.code if model is Product else text).label("code"),
                   (model.list_price if model is Product else money).label("list_price"),
                   (model.account_id if model is Contact else number).label("account_id"),
                   model.created_at.label("created_at")]
        where = (Product.active.is_(True),) if model is Product else ()
        return select(_picker_select(model, bindparam("class_id"), *where, columns=columns).subquery())

    stmt = union_all(*(member(picker, model) for picker, model in _PICKERS))
    by = stmt.selected_columns
    return stmt.order_by(by.picker, by.created_at.desc(), by.id.desc())


def _picker_rows(opp: Opportunity) -> dict[str, list[Any]]:
    """The four pickers' records in one query: {"product": rows, "contact": rows, "account": rows,
    "competitor": rows}.

    Each member is the SELECT its picker runs on its own (the class's newest PICKER_LIMIT the viewer sees)."""
    found: dict[str, list[Any]] = {picker: [] for picker, _model in _PICKERS}
    for row in db.session.execute(_pickers_select(), {"class_id": opp.class_id}).all():
        found[row.picker].append(row)
    return found


class _Kind(NamedTuple):
    """One kind of child row: its model, the record it names (by `fk`), the columns the page reads of each."""

    model: Any
    record: Any
    fk: str
    columns: tuple[str, ...]
    record_columns: tuple[str, ...]


# The kinds of child rows the page lists, in one UNION ALL (see children).
_KINDS = {
    "lines": _Kind(OpportunityLine, Product, "product_id", ("quantity", "unit_price", "discount", "total"),
                   ("code", "name", "unit")),
    "roles": _Kind(OpportunityContactRole, Contact, "contact_id", ("role", "is_primary"), ("name", "title")),
    "partners": _Kind(OpportunityPartner, Account, "account_id", ("note",), ("name",)),
    "competitors": _Kind(OpportunityCompetitor, Competitor, "competitor_id", ("note",), ("name", "threat_level")),
    # The stage history and who moved it (users are no records of the rule: the join finds the mover by id).
    "history": _Kind(StageHistory, User, "changed_by_id", ("changed_at", "from_stage", "to_stage"), ("display_name",)),
}
# What the page reads of a child row and of its record, per kind: (id, fk, *columns) and (id, *record_columns).
_ROWS = {name: (namedtuple(f"{name}_row", ("id", k.fk, *k.columns)),
                namedtuple(f"{name}_record", ("id", *k.record_columns))) for name, k in _KINDS.items()}


@cache
def _children_select(with_account: bool) -> Any:
    """Every kind's child rows of one opportunity with their records, as one UNION ALL built once per process.

    Each member is one kind's rows outer-joined to the records they name; a column another kind has is a NULL of
    its type. The session puts the visibility rule into each join's ON clause, so a row naming a record the
    viewer may not read stays, without the record (the join finds each record by its primary key: the planner
    has no class to walk, unlike a list of ids, see access.criterion's by_key). `with_account`: one more member,
    the opportunity's account by its id (kind "account", through the rule), whose name the account field shows."""
    child_columns = {c: getattr(k.model, c) for k in _KINDS.values() for c in k.columns}
    record_columns = {c: getattr(k.record, c) for k in _KINDS.values() for c in k.record_columns}

    def pick(model: Any, wanted: tuple[str, ...], prefix: str, columns: dict[str, Any]) -> list[Any]:
        return [(getattr(model, c) if c in wanted else cast(null(), column.type)).label(prefix + c)
                for c, column in columns.items()]

    def member(name: str, k: _Kind) -> Any:
        return (select(literal_column(f"'{name}'").label("kind"), k.model.id.label("id"),
                       getattr(k.model, k.fk).label("fk"), k.record.id.label("record_id"),
                       *pick(k.model, k.columns, "", child_columns),
                       *pick(k.record, k.record_columns, "record_", record_columns))
                .outerjoin(k.record, k.record.id == getattr(k.model, k.fk))
                .where(k.model.opportunity_id == bindparam("opportunity_id")))

    members = [member(name, k) for name, k in _KINDS.items()]
    if with_account:
        members.append(select(literal_column("'account'").label("kind"), Account.id.label("id"),
                              cast(null(), Integer).label("fk"), Account.id.label("record_id"),
                              *pick(None, (), "", child_columns), *pick(Account, ("name",), "record_", record_columns))
                       .where(Account.id == bindparam("account_id")))
    stmt = union_all(*members)
    return stmt.order_by(stmt.selected_columns.kind, stmt.selected_columns.id)


@cache
def _takers() -> dict[str, tuple[Any, Any, Any, Any]]:
    """Per kind: its row and record tuples and what picks their fields from a row of the UNION (by position: a
    page of 20 lines read them by name at twice the cost)."""
    names = list(_children_select(False).selected_columns.keys())
    return {name: (*_ROWS[name],
                   itemgetter(*(names.index(c) for c in ("id", "fk", *k.columns))),
                   itemgetter(*(names.index(c) for c in ("record_id", *("record_" + c for c in k.record_columns)))))
            for name, k in _KINDS.items()}


def children(opp: Opportunity) -> dict[str, list[tuple[Any, Any]]]:
    """The opportunity's child rows of every kind (its stage history one of them), in the order they were added,
    each with the id and columns of the record it names, None when the viewer may not see it (rows: the page only
    reads them), in one query. The account's name comes with them, kept for the account field's link and the
    contact picker's group."""
    found: dict[str, list[tuple[Any, Any]]] = {name: [] for name in _KINDS}
    params = {"opportunity_id": opp.id, **({"account_id": opp.account_id} if opp.account_id else {})}
    account_name = None
    takers = _takers()
    for r in db.session.execute(_children_select(bool(opp.account_id)), params).all():
        kind = r[0]
        if kind == "account":
            account_name = r.record_name
            continue
        row, record, row_at, record_at = takers[kind]
        found[kind].append((row._make(row_at(r)), record._make(record_at(r)) if r[3] is not None else None))
    if opp.account_id:  # None: the viewer may not see it
        remember_labels(Account, {opp.account_id: account_name})
    return found


def picker_choices(opp: Opportunity) -> dict[str, Any]:
    """Each inline picker's choices by field name: the class's records the viewer sees, less those already on the
    opportunity. Two queries: its rows (with its account's name, which heads the contact picker's group) and the
    pickers' records."""
    found = children(opp)
    picked = _picker_rows(opp)
    return {
        "product_id": _choices(picked["product"], set(), _product_label(opp)),
        "contact_id": contact_choices(opp, {r.contact_id for r, _c in found["roles"]}, picked["contact"]),
        "account_id": account_choices(opp, {r.account_id for r, _a in found["partners"]}, picked["account"]),
        "competitor_id": competitor_choices(opp, {r.competitor_id for r, _c in found["competitors"]},
                                            picked["competitor"]),
    }


# The pickers of the page as it is first sent: the placeholder alone. Their records come from
# `opportunities.pickers` when a form is reached for (static/js/opportunity-pickers.js): most visits read the
# opportunity, and its four pickers were two fifths of the page's time.
_NOT_YET = {field: [(0, "—")] for field in PICKER_FIELDS}


class Move(NamedTuple):
    """One row of the stage history as the page shows it."""

    changed_at: datetime
    from_stage: str | None
    to_stage: str
    changed_by_name: str | None


def history_rows(found: dict[str, list[tuple[Any, Any]]]) -> list[dict[str, Any]]:
    """The stage history of the opportunity's child rows (`children`) with the days spent in each stage, oldest
    first: {"entry": Move, "days": n}; a mover no longer named (or none) has no name."""
    moves = [Move(row.changed_at, row.from_stage, row.to_stage, user.display_name if user is not None else None)
             for row, user in sorted(found["history"], key=lambda pair: (pair[0].changed_at, pair[0].id))]
    return [{"entry": move, "days": max(0, ((moves[i + 1].changed_at if i + 1 < len(moves) else utcnow())
                                           - move.changed_at).days)}
            for i, move in enumerate(moves)]


def detail_context(opp: Opportunity, writable: bool, csrf: Markup, found: dict[str, list[tuple[Any, Any]]]
                   ) -> dict[str, Any]:
    """Rows, totals and (for writers) the inline forms of the opportunity page (`csrf`: the page's CSRF field;
    `found`: its `children`); the forms' pickers hold the placeholder until the page asks for their choices."""
    lines, roles, partners, competitors = (found[name] for name in ("lines", "roles", "partners", "competitors"))
    context: dict[str, Any] = {
        "lines": lines,
        "lines_total": sum((Decimal(r.total) for r, _product in lines), Decimal("0")),
        "roles": roles,
        "partners": partners,
        "competitors": competitors,
        "forms": None,
    }
    if writable and not opp.is_deleted:
        context["forms"] = inline_forms(_NOT_YET, csrf)
    return context
