"""The opportunity page's inline forms (product line, contact role, partner, competitor) as HTML.

Each field is rendered by the `cell` macro (templates/opportunities/_cell.html, Bootstrap-Flask's
`render_field`) from a fresh form once per application and language, and kept (records/rendered.py); a
picker's options are written per page from its (id, label) pairs. The page builds no form for them: a writer's
opportunity page built five and rendered twelve fields through the macro on every request.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import current_app
from flask_babel import gettext
from markupsafe import Markup, escape
from wtforms import SelectField

from ..codes.services import choices as code_choices
from ..i18n import N_
from ..records.rendered import fresh_field, fresh_select, select_html
from .item_forms import ContactRoleForm, LineForm, OpportunityCompetitorForm, PartnerForm


class _Cell(NamedTuple):
    """One field of an inline form in its grid column; a placeholder (a message id) replaces the description."""

    field: str
    width: str
    placeholder: str | None = None


# The inline forms and their fields, in the page's order.
FORMS: dict[str, tuple[Any, tuple[_Cell, ...]]] = {
    "line": (LineForm, (_Cell("product_id", "col-md-4"), _Cell("quantity", "col-md-2"),
                        _Cell("unit_price", "col-md-2", N_("List price")), _Cell("discount", "col-md-2"))),
    "role": (ContactRoleForm, (_Cell("contact_id", "col-md-5"), _Cell("role", "col-md-3"),
                               _Cell("is_primary", "col-md-2"))),
    "partner": (PartnerForm, (_Cell("account_id", "col-12"), _Cell("note", "col-8"))),
    "competitor": (OpportunityCompetitorForm, (_Cell("competitor_id", "col-12"), _Cell("note", "col-8"))),
}


def _fresh(form_cls: Any) -> Any:
    return form_cls(formdata=None, meta={"csrf": False})


def _render(form_cls: Any, cell: _Cell, choices: Any = None) -> Markup:
    """The cell macro's HTML for a field of a fresh form (with these choices, for a select)."""
    field = _fresh(form_cls)[cell.field]
    placeholder: Any = False
    if cell.placeholder:
        # As the template's `_('…')` gave it: the translation, marked safe.
        placeholder, field.description = Markup(gettext(cell.placeholder)), ""
    if choices is not None:
        field.choices = choices
    macro = current_app.jinja_env.get_template("opportunities/_cell.html").module.cell  # type: ignore[attr-defined]
    return macro(field, cell.width, placeholder)  # type: ignore[no-any-return]


def _is_select(form_cls: Any, name: str) -> bool:
    return issubclass(getattr(form_cls, name).field_class, SelectField)


def inline_forms(choices: dict[str, Any], csrf: Markup) -> dict[str, dict[str, Markup]]:
    """{form: {field: cell HTML, "csrf": the CSRF field, "submit": the button's text}}; `choices` holds each
    picker's choices by field name (the contact role's come from the class's code table)."""
    choices = {**choices, "role": code_choices("contact_role")}
    forms: dict[str, dict[str, Markup]] = {}
    for name, (form_cls, cells) in FORMS.items():
        html = {"csrf": csrf, "submit": fresh_field(
            (form_cls, "submit"), lambda form_cls=form_cls: escape(_fresh(form_cls).submit.label.text))}
        for cell in cells:
            key = (form_cls, cell)
            if _is_select(form_cls, cell.field):
                parts = fresh_select(key, lambda given, form_cls=form_cls, cell=cell: _render(form_cls, cell, given))
                html[cell.field] = select_html(parts, choices[cell.field])
            else:
                html[cell.field] = fresh_field(key, lambda form_cls=form_cls, cell=cell: _render(form_cls, cell))
        forms[name] = html
    return forms
