"""Form parts a record page writes alike on every request of a language, rendered once and kept.

A record page wrote its fresh inline forms through Bootstrap-Flask's `render_field` (an opportunity page
twelve fields, every record page its note box) and a CSRF field per form (eighteen on an opportunity page):
a third of the opportunity page's CPU, for HTML that differs only by the language, a picker's options and the
request's token. What a fresh field (no data posted, no errors) renders is kept per application and
language, a picker's HTML kept around its options; the options are written per page from plain pairs, as
WTForms' `Select` writes them; the CSRF field is rendered once per page. The HTML is the same, byte for byte
(tests/test_rendered_fields.py renders both ways and compares).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import current_app
from flask_babel import get_locale
from markupsafe import Markup, escape
from wtforms import SelectField
from wtforms.fields.choices import SelectFieldBase
from wtforms.widgets import Select

# A choice no picker holds (its value an integer, which any field's coerce reads): the kept HTML of a select is
# split around its option.
_MARK_VALUE, _MARK_LABEL = -987_654_321, "\x1fsandbox-options\x1f"
_MARK_OPTION = f'<option value="{_MARK_VALUE}">{escape(_MARK_LABEL)}</option>'


def _kept() -> dict[Any, Any]:
    return current_app.extensions.setdefault("sandbox.rendered", {})  # type: ignore[no-any-return]


def fresh_field(key: Any, render: Callable[[], Any]) -> Markup:
    """The HTML `render()` gives for a fresh field, kept per application, language and `key` (which names
    everything else the HTML depends on: form, field, macro arguments)."""
    kept = _kept()
    full = ("field", str(get_locale()), key)
    html = kept.get(full)
    if html is None:
        html = kept[full] = Markup(render())
    return html  # type: ignore[no-any-return]


def fresh_select(key: Any, render: Callable[[list[tuple[int, str]]], Any]) -> tuple[Markup, Markup]:
    """The HTML before and after the options of a fresh select field, kept as `fresh_field` keeps a field.

    `render(choices)` renders the field with these choices (it is called once, with a marker choice)."""
    kept = _kept()
    full = ("select", str(get_locale()), key)
    parts = kept.get(full)
    if parts is None:
        html = str(render([(_MARK_VALUE, _MARK_LABEL)]))
        if html.count(_MARK_OPTION) != 1:
            raise ValueError(f"the select of {key!r} does not write its options as WTForms' Select does")
        head, _option, tail = html.partition(_MARK_OPTION)
        parts = kept[full] = (Markup(head), Markup(tail))
    return parts  # type: ignore[no-any-return]


def _options(choices: Iterable[tuple[Any, Any]]) -> str:
    # Select.render_option for a choice not selected, without render_kw: value, then the label (or the value).
    return "".join([f'<option value="{escape(value)}">{escape(label or value)}</option>'
                    for value, label in choices])


def options_html(choices: Iterable[tuple[Any, Any]] | Mapping[str, Iterable[tuple[Any, Any]]]) -> Markup:
    """The options WTForms' `Select` writes for (value, label) pairs, or for {group label: pairs} in
    <optgroup>s (an empty group writes nothing), none selected: a fresh field's data is None."""
    if isinstance(choices, Mapping):
        return Markup("".join(f'<optgroup label="{escape(group)}">{_options(pairs)}</optgroup>'
                              for group, pairs in choices.items() if pairs))
    return Markup(_options(choices))


def select_html(parts: tuple[Markup, Markup], choices: Any) -> Markup:
    """A kept select (`fresh_select`) with these choices."""
    return Markup(f"{parts[0]}{options_html(choices)}{parts[1]}")


def csrf_field(form: Any) -> Markup:
    """`{{ form.csrf_token }}`, rendered once for a page: every form of a request carries the same token
    (Flask-WTF keeps it for the request). Empty when CSRF protection is off (the form has no such field)."""
    field = getattr(form, "csrf_token", None)
    return Markup(field()) if field is not None else Markup("")


# How templates/records/form.html writes each field of a record form.
_FORM_FIELD = {"form_type": "horizontal", "horizontal_columns": ("lg", 3, 9)}
_NOT_SHOWN = ("HiddenField", "CSRFTokenField")


def _kept_value(data: Any) -> bool:
    # A field's data the kept HTML may be keyed on: a form class's constant default, never a long or odd value.
    return data is None or (type(data) in (str, int, bool) and len(str(data)) <= 100)


def fresh_form_fields(form: Any) -> dict[str, Markup] | None:
    """{field name: the HTML records/form.html's `render_field` writes} for every shown field and the submit
    button of a fresh form (a create page's GET: no data sent, no errors, nothing prefilled), or None when a field
    is not fresh (the template then renders every field itself).

    A create form rendered its fields through Bootstrap-Flask's macro on every GET: two thirds of the page, for
    HTML that differs only by the language and a select's options. A field's HTML is kept per application,
    language, form class, field and data (the class's default), a select's around its options, which are written
    per page (records/rendered.py's `fresh_select`); a select with an option chosen is rendered the usual way."""
    macro = current_app.jinja_env.get_template("bootstrap5/form.html").module.render_field  # type: ignore[attr-defined]
    html: dict[str, Markup] = {}
    for field in form:
        if field.type in _NOT_SHOWN:
            continue
        if field.errors or getattr(field, "process_errors", None) or not _kept_value(field.data):
            return None
        key = (type(form), field.name, field.type, type(field.data), field.data)
        if isinstance(field, SelectField) and isinstance(field.widget, Select) and not field.has_groups():
            choices = list(field.iter_choices())
            if any(choice.selected or choice.render_kw for choice in choices):
                html[field.name] = macro(field, **_FORM_FIELD)  # an option is chosen (or has attributes)
                continue
            parts = fresh_select(key, lambda given, field=field: _with_choices(macro, field, given))
            html[field.name] = select_html(parts, [(choice.value, choice.label) for choice in choices])
        elif isinstance(field, SelectFieldBase):
            html[field.name] = macro(field, **_FORM_FIELD)
        else:
            html[field.name] = fresh_field(key, lambda field=field: macro(field, **_FORM_FIELD))
    return html


def _with_choices(macro: Any, field: Any, choices: list[tuple[Any, str]]) -> Markup:
    """The macro's HTML of a select field with other choices (its own are put back)."""
    own = field.choices
    field.choices = choices
    try:
        return macro(field, **_FORM_FIELD)  # type: ignore[no-any-return]
    finally:
        field.choices = own
