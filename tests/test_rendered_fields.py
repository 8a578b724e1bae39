"""Form parts a record page keeps rendered (records/rendered.py) write exactly what rendering them each time wrote.

The opportunity page's inline forms are rendered per field once per language and kept, with the pickers'
options written per page; the note box is kept the same way; the CSRF field is rendered once per page. Each
test renders the old way (fresh WTForms forms through Bootstrap-Flask's macro) and compares byte for byte,
in both languages, with names that need escaping.
"""

from __future__ import annotations

import re

import pytest
from flask import render_template_string
from flask_babel import force_locale
from wtforms import Form, SelectField

from sandbox.codes.services import choices as code_choices
from sandbox.extensions import db
from sandbox.opportunities.inline import inline_forms
from sandbox.opportunities.item_forms import ContactRoleForm, LineForm, OpportunityCompetitorForm, PartnerForm
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.services import create_opportunity
from sandbox.records.forms import ConfirmForm
from sandbox.records.note_views import NoteForm
from sandbox.records.rendered import csrf_field, fresh_select, options_html
from tests.conftest import PASSWORD, act_as

SCRIPT = "<script>alert('x')</script>"

# The opportunity page's cell macro as templates/opportunities/_items.html defined it before the fields were kept.
OLD_CELL = (
    "{% from 'bootstrap5/form.html' import render_field -%}\n"
    "{% macro cell(field, width='col-md', placeholder=false) -%}\n"
    "<div class=\"{{ width }}\">{{ render_field(field, form_group_classes='mb-0', class=('form-select-sm' if "
    "field.type == 'SelectField' else ('' if field.type == 'BooleanField' else 'form-control-sm')), "
    "placeholder=placeholder) }}</div>\n"
    "{%- endmacro -%}\n")

OLD_FORMS = OLD_CELL + (
    "{{ f.line.csrf_token }}|{{ cell(f.line.product_id, 'col-md-4') }}{{ cell(f.line.quantity, 'col-md-2') }}"
    "{{ cell(f.line.unit_price, 'col-md-2', _('List price')) }}{{ cell(f.line.discount, 'col-md-2') }}|"
    "{{ f.role.csrf_token }}|{{ cell(f.role.contact_id, 'col-md-5') }}{{ cell(f.role.role, 'col-md-3') }}"
    "{{ cell(f.role.is_primary, 'col-md-2') }}|"
    "{% for form, picker in [(f.partner, 'account_id'), (f.competitor, 'competitor_id')] %}"
    "{{ form.csrf_token }}|{{ cell(form[picker], 'col-12') }}{{ cell(form.note, 'col-8') }}|"
    "{{ form.submit.label.text }}|{% endfor %}")

NEW_FORMS = (
    "{{ f.line.csrf }}|{{ f.line.product_id }}{{ f.line.quantity }}{{ f.line.unit_price }}{{ f.line.discount }}|"
    "{{ f.role.csrf }}|{{ f.role.contact_id }}{{ f.role.role }}{{ f.role.is_primary }}|"
    "{% for form, picker in [(f.partner, 'account_id'), (f.competitor, 'competitor_id')] %}"
    "{{ form.csrf }}|{{ form[picker] }}{{ form.note }}|{{ form.submit }}|{% endfor %}")


def _choices(tag: str) -> dict:
    return {
        "product_id": [(0, "—"), (5, f"P-1 Tea {SCRIPT} · CN¥1.00"), (6, 'A "quoted" & <b>bold</b>'), (7, "")],
        "contact_id": {f"Contacts of <{tag}> & Co": [(0, "—"), (11, "Han")], "Other contacts": [(12, SCRIPT)]},
        "account_id": [(0, "—"), (21, f"Acme {tag}")],
        "competitor_id": [(0, "—")],
    }


def _old_forms(choices: dict) -> str:
    line, role = LineForm(formdata=None), ContactRoleForm(formdata=None)
    partner, competitor = PartnerForm(formdata=None), OpportunityCompetitorForm(formdata=None)
    line.product_id.choices, line.unit_price.description = choices["product_id"], ""
    role.contact_id.choices = choices["contact_id"]
    partner.account_id.choices, competitor.competitor_id.choices = choices["account_id"], choices["competitor_id"]
    return render_template_string(OLD_FORMS, f={"line": line, "role": role, "partner": partner,
                                                "competitor": competitor})


@pytest.mark.parametrize("csrf", [False, True])
def test_inline_forms_write_what_the_cell_macro_wrote(app_factory, csrf):
    """Both languages, in turns (a kept field of one never shows in the other), pickers with escaped names,
    groups and an empty label; the options are the page's own, not the first page's."""
    guarded = app_factory(WTF_CSRF_ENABLED=csrf)
    with guarded.test_request_context("/"):
        seen = {}
        for locale, tag in [("zh_Hans_CN", "one"), ("en", "two"), ("zh_Hans_CN", "three"), ("en", "four")]:
            with force_locale(locale):
                choices = _choices(tag)
                token = csrf_field(ConfirmForm())
                new = render_template_string(NEW_FORMS, f=inline_forms(choices, token))
                assert new == _old_forms(choices)
                assert f"Acme {tag}" in new and "&lt;script&gt;" in new and SCRIPT not in new
                assert new.count('name="csrf_token"') == (4 if csrf else 0)
                assert code_choices("contact_role")[0][1] in new
                seen[locale] = new
        assert "标准价格" in seen["zh_Hans_CN"] and "List price" in seen["en"]


def test_a_select_that_does_not_write_its_options_as_wtforms_does_is_refused(app):
    with app.test_request_context("/"), pytest.raises(ValueError):
        fresh_select("odd select", lambda given: "<select></select>")


class _Plain(Form):
    number = SelectField(coerce=int)
    text = SelectField()


def test_options_are_those_wtforms_writes_for_a_fresh_field():
    """Nothing selected (a fresh field has no data), labels escaped, no label shows the value, groups in order and
    an empty group written as WTForms writes it (not at all)."""
    form = _Plain()
    cases = [
        [(0, "—"), (7, f"Han {SCRIPT}"), (12, 'A "quoted" & <b>bold</b> name'), (3, "")],
        {"Contacts of <Tea>": [(0, "—"), (5, "Five")], "Empty": [], "Other contacts": [(6, SCRIPT)]},
        [],
    ]
    for choices in cases:
        form.number.choices = choices
        widget = str(form.number())
        inner = widget[widget.index(">") + 1:-len("</select>")]
        assert str(options_html(choices)) == inner
    form.text.choices = [("", "—"), ('a"b', "<i>x</i>")]
    widget = str(form.text())
    assert str(options_html(form.text.choices)) == widget[widget.index(">") + 1:-len("</select>")]


def _deal(classroom) -> Opportunity:
    from datetime import date

    act_as(classroom.user("studentA"))
    opp = create_opportunity(Opportunity, {"name": "Deal", "stage": "proposal", "close_date": date(2030, 6, 30)})
    db.session.commit()
    act_as(None)
    return opp


def test_note_box_is_the_macro_s_and_every_form_of_the_page_carries_the_token(app_factory, classroom):
    """A record page with CSRF on: the kept note box is what render_field wrote, and each POST form (stage path,
    inline forms, notes, attachments, activities, delete) carries the page's one token."""
    guarded = app_factory(WTF_CSRF_ENABLED=True)
    opp = _deal(classroom)
    client = guarded.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/auth/login").get_data(as_text=True))
    assert client.post("/auth/login", data={"username": "studentA", "password": PASSWORD,
                                            "csrf_token": token.group(1)}).status_code == 302
    for lang in ("en", "zh_Hans_CN"):
        html = client.get(f"/opportunities/{opp.id}?lang={lang}").get_data(as_text=True)
        forms = re.findall(r'<form method="post".*?</form>', html, re.S)
        assert len(forms) > 10
        tokens = {re.search(r'name="csrf_token"[^>]*value="([^"]+)"', f).group(1) for f in forms}
        assert len(tokens) == 1
        with guarded.test_request_context("/"), force_locale(lang):
            old = render_template_string("{% from 'bootstrap5/form.html' import render_field %}"
                                         "{{ render_field(form.body, rows=2) }}", form=NoteForm())
            assert old in html
            assert ('name="body"' in old and "<textarea" in old)

