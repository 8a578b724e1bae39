"""What the record pages prepare in Python to render faster must show exactly what they showed before.

Related lists are rendered row by row in `RecordViews.related_rows` (escaped by `Markup.format`); record
pickers write their options through `records/picker.PickerSelect` (the same HTML as WTForms' `Select`); the
opportunity page reads its child rows and their records as columns. Each test pins the exact markup.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import update
from wtforms import Form, SelectField
from wtforms.widgets import Select

from sandbox.accounts.models import Account
from sandbox.contacts.models import Contact
from sandbox.extensions import db
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.services import create_opportunity
from sandbox.org.models import User
from sandbox.records.picker import PickerSelect
from sandbox.records.services import create_record
from tests.conftest import act_as
from tests.helpers import opportunity_page

SCRIPT = "<script>alert('x')</script>"
ESCAPED = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"


def _as(user, fn, *args):
    act_as(user)
    result = fn(*args)
    db.session.commit()
    act_as(None)
    return result


def _card(html: str, testid: str) -> str:
    found = re.search(rf'<div class="card shadow-sm mt-3" data-testid="{testid}">.*?</table>', html, re.S)
    assert found, testid
    return found.group(0)


def test_related_lists_escape_names_and_link_each_row(app, classroom):
    """An account's contacts and opportunities: one escaped row each, linked, with the owner's name."""
    student = classroom.user("studentA")
    db.session.execute(update(User).where(User.id == student.id).values(display_name=f"Owner {SCRIPT}"))
    db.session.commit()
    account = _as(student, create_record, Account, {"name": "Tea House"})
    contact = _as(student, create_record, Contact, {"name": f"Han {SCRIPT}", "account_id": account.id,
                                                    "title": "Buyer & boss"})
    opp = _as(student, create_opportunity, Opportunity, {
        "name": f"Deal {SCRIPT}", "account_id": account.id, "stage": "proposal", "close_date": date(2030, 6, 30),
        "amount": Decimal("1234.5")})
    html = classroom.client_for(app, "studentA").get(f"/accounts/{account.id}?lang=en").get_data(as_text=True)
    assert SCRIPT not in html
    contacts = _card(html, "related-contacts")
    assert (f'<tr><td><a href="/contacts/{contact.id}">Han {ESCAPED}</a></td><td>Buyer &amp; boss</td><td></td>'
            f"<td></td><td>Owner {ESCAPED}</td></tr>") in contacts
    opportunities = _card(html, "related-opportunities")
    assert (f'<tr><td><a href="/opportunities/{opp.id}">Deal {ESCAPED}</a></td><td>Proposal</td>'
            f"<td>CN¥1,234.50</td><td>2030-06-30</td><td>Owner {ESCAPED}</td></tr>") in opportunities
    subsidiaries = _card(html, "related-accounts")
    assert '<tr><td colspan="3" class="text-muted">None yet.</td></tr>' in subsidiaries


def test_related_lists_show_only_visible_rows(app, classroom):
    """A row the viewer may not read is not in the related list (the column SELECT keeps the visibility rule)."""
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    account = _as(student, create_record, Account, {"name": "Tea House"})
    _as(student, create_record, Contact, {"name": "Mine", "account_id": account.id})
    _as(peer, create_record, Contact, {"name": "Of the peer", "account_id": account.id})
    mine = classroom.client_for(app, "studentA").get(f"/accounts/{account.id}?lang=en").get_data(as_text=True)
    contacts = _card(mine, "related-contacts")
    assert "Mine" in contacts and "Of the peer" not in contacts
    assert '<span class="badge text-bg-light">1</span>' in contacts
    teacher = classroom.client_for(app, "teacher").get(f"/accounts/{account.id}?lang=en").get_data(as_text=True)
    contacts = _card(teacher, "related-contacts")
    assert "Mine" in contacts and "Of the peer" in contacts
    # Newest first, as before.
    assert contacts.index("Of the peer") < contacts.index("Mine")


class _Picker(Form):
    fast = SelectField(coerce=int, widget=PickerSelect())
    slow = SelectField(coerce=int, widget=Select())
    fast_text = SelectField(widget=PickerSelect())
    slow_text = SelectField(widget=Select())


def test_picker_select_writes_what_wtforms_writes():
    """Plain, selected, escaped and grouped options come out byte for byte as WTForms' own widget writes them."""
    form = _Picker()
    choices = [(0, "—"), (7, f"Han {SCRIPT}"), (12, 'A "quoted" & <b>bold</b> name'), (3, "")]
    for name in ("fast", "slow"):
        form[name].choices = choices
        form[name].data = 12
    assert str(form.fast()) == str(form.slow()).replace('id="slow" name="slow"', 'id="fast" name="fast"')
    assert '<option selected value="12">A &#34;quoted&#34; &amp; &lt;b&gt;bold&lt;/b&gt; name</option>' in form.fast()
    assert '<option value="3">3</option>' in form.fast()  # no label: the value, as WTForms
    groups = {"Contacts of <Tea>": [(0, "—"), (5, "Five")], "Other contacts": [(6, SCRIPT)]}
    for name in ("fast", "slow"):
        form[name].choices = groups
        form[name].data = 6
    assert str(form.fast()) == str(form.slow()).replace('id="slow" name="slow"', 'id="fast" name="fast"')
    text = [("", "—"), ('a"b', "<i>x</i>"), ("new", "New")]
    for name in ("fast_text", "slow_text"):
        form[name].choices = text
        form[name].data = 'a"b'
    assert str(form.fast_text()) == str(form.slow_text()).replace("slow_text", "fast_text")
    assert form.fast(class_="form-select") == form.slow(class_="form-select").replace("slow", "fast")


def test_opportunity_page_rows_and_pickers_escape_names(app, classroom):
    """Product lines, contact roles, partners and competitors read as columns: names escaped, pickers grouped."""
    from tests.test_opportunity_items import make_deal

    deal = make_deal(classroom)
    student = classroom.client_for(app, "studentA")
    contact = deal.contacts[0]
    db.session.execute(update(Contact).where(Contact.id == contact.id).values(name=f"Han {SCRIPT}",
                                                                              title="Buyer & boss"))
    db.session.commit()
    assert student.post(f"/opportunities/{deal.opp.id}/lines/new",
                        data={"product_id": deal.products[0].id, "quantity": "2", "discount": "0"}).status_code == 302
    assert student.post(f"/opportunities/{deal.opp.id}/contact-roles/new",
                        data={"contact_id": contact.id, "role": "decision_maker"}).status_code == 302
    assert student.post(f"/opportunities/{deal.opp.id}/partners/new",
                        data={"account_id": deal.partner.id, "note": f"note {SCRIPT}"}).status_code == 302
    html = opportunity_page(student, deal.opp.id)
    assert SCRIPT not in html
    assert (f'<a href="/products/{deal.products[0].id}">P-00 Product P-00</a>') in html
    assert '<td class="text-end">2.00</td><td class="text-end">CN¥100.50</td>' in html
    assert (f'<a href="/contacts/{contact.id}">Han {ESCAPED}</a> <span class="text-muted small">Buyer &amp; boss'
            "</span>") in html
    assert f'<a href="/accounts/{deal.partner.id}">Reseller Co</a>' in html
    assert f'<div class="small text-muted">note {ESCAPED}</div>' in html
    # The contact picker: the account's own contacts first (the one on the deal left out), then the others.
    picker = re.search(r'<select[^>]*name="contact_id".*?</select>', html, re.S).group(0)
    assert picker.startswith('<select class="form-select form-select-sm" id="contact_id" name="contact_id" '
                             'required><optgroup label="Contacts of Tea House"><option value="0">—</option>')
    assert f'<option value="{contact.id}">' not in picker
    assert f'<option value="{deal.contacts[1].id}">Contact 1</option>' in picker


def test_stage_history_names_who_moved_it(app, classroom):
    """The stage history joins who moved the deal: the teacher reads the student's name on each row."""
    student = classroom.user("studentA")
    opp = _as(student, create_opportunity, Opportunity, {
        "name": "Deal", "stage": "prospecting", "close_date": date(2030, 6, 30)})
    client = classroom.client_for(app, "studentA")
    assert client.post(f"/opportunities/{opp.id}/stage", data={"stage": "proposal"}).status_code == 302
    html = classroom.client_for(app, "teacher").get(f"/opportunities/{opp.id}?lang=en").get_data(as_text=True)
    history = re.search(r'data-testid="stage-history".*?</table>', html, re.S).group(0)
    cells = re.findall(r"<tr><td class=\"small\">[^<]*</td><td>([^<]*)</td>\s*<td>([^<]*)</td><td>([^<]*)</td>",
                       history)
    assert cells == [(student.display_name, "—", "Prospecting"), (student.display_name, "Prospecting", "Proposal")]


def test_opportunity_rows_keep_records_the_viewer_may_not_read_as_not_visible(app, classroom):
    """Each kind of child row stays when the record it names is not readable (outer join, visibility in ON)."""
    from sandbox.competitors.models import Competitor
    from sandbox.opportunities import lines, parties
    from sandbox.products.models import Product
    from tests.test_opportunity_items import make_deal

    deal = make_deal(classroom)
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    hidden = _as(student, create_record, Contact, {"name": "Hidden contact"})
    act_as(student)
    lines.add_line(deal.opp, deal.products[0], Decimal("2"))
    lines.add_line(deal.opp, deal.products[1], Decimal("1"))
    parties.add_contact_role(deal.opp, deal.contacts[0], "decision_maker")
    parties.add_contact_role(deal.opp, hidden, "influencer")
    parties.add_partner(deal.opp, deal.partner, "Installs")
    parties.add_competitor(deal.opp, deal.competitor, "Cheaper")
    db.session.commit()
    act_as(None)
    # Out of the student's sight afterwards: a deleted product, a contact and a partner given to a peer, a deleted
    # competitor.
    db.session.execute(update(Product).where(Product.id == deal.products[1].id).values(deleted_at=datetime(2026, 1, 1)))
    db.session.execute(update(Contact).where(Contact.id == hidden.id).values(owner_id=peer.id))
    db.session.execute(update(Account).where(Account.id == deal.partner.id).values(owner_id=peer.id))
    db.session.execute(update(Competitor).where(Competitor.id == deal.competitor.id).values(deleted_at=datetime(2026, 1, 1)))
    db.session.commit()

    def cards(name: str) -> dict[str, str]:
        html = classroom.client_for(app, name).get(f"/opportunities/{deal.opp.id}?lang=en").get_data(as_text=True)
        # Each card runs up to the next one; the lists of the last three end at their </ul>.
        parts = html.split('data-testid="opportunity-')[1:]
        return {part.split('"', 1)[0]: part if part.startswith("lines") else part.split("</ul>")[0] for part in parts}

    mine = cards("studentA")
    assert mine["lines"].count("<tr><td>") == 2 and mine["lines"].count("(not visible to you)") == 1
    assert "Product P-00" in mine["lines"] and "Product P-01" not in mine["lines"]
    assert '<td class="text-end">1.00</td>' in mine["lines"]  # the hidden product's line keeps its values
    assert "Contact 0" in mine["contact-roles"] and "Hidden contact" not in mine["contact-roles"]
    assert mine["contact-roles"].count("(not visible to you)") == 1 and "Influencer" in mine["contact-roles"]
    assert "Reseller Co" not in mine["partners"] and "(not visible to you)" in mine["partners"]
    assert "Installs" in mine["partners"]
    assert "Rival Ltd" not in mine["competitors"] and "(not visible to you)" in mine["competitors"]
    assert "Cheaper" in mine["competitors"]
    # The teacher reads the peer's contact and account; deleted records stay hidden from everyone.
    teacher = cards("teacher")
    assert "Hidden contact" in teacher["contact-roles"] and "Reseller Co" in teacher["partners"]
    assert "(not visible to you)" in teacher["lines"] and "(not visible to you)" in teacher["competitors"]


def test_pickers_keep_the_newest_first_among_equal_names(app, classroom):
    """The pickers' one query keeps each picker's order: by name, equal names newest first."""
    from tests.test_opportunity_items import make_deal

    deal = make_deal(classroom)
    student = classroom.user("studentA")
    twins = [_as(student, create_record, Account, {"name": "Twin Co"}) for _ in range(3)]
    db.session.execute(update(Account).where(Account.id == twins[0].id).values(created_at=datetime(2030, 1, 1)))
    db.session.commit()
    html = opportunity_page(classroom.client_for(app, "studentA"), deal.opp.id)
    picker = re.search(r'<select[^>]*name="account_id".*?</select>', html, re.S).group(0)
    shown = [int(i) for i in re.findall(r'<option value="(\d+)">Twin Co</option>', picker)]
    assert shown == [twins[0].id, twins[2].id, twins[1].id]  # the one dated 2030 is the newest
    assert f'<option value="{deal.account.id}">' not in picker  # not the deal's own account


def test_activity_panel_names_each_owner(app, classroom):
    """The panel reads its rows with their owners' names joined: the teacher sees who owns each activity."""
    from sandbox.activities.models import Activity
    from sandbox.activities.services import create_activity
    from sandbox.clock import today

    student, manager = classroom.user("studentA"), classroom.user("managerA")
    db.session.execute(update(User).where(User.id == manager.id).values(display_name=f"Boss {SCRIPT}"))
    db.session.commit()
    opp = _as(student, create_opportunity, Opportunity, {
        "name": "Deal", "stage": "proposal", "close_date": date(2030, 6, 30)})
    related = {"related_type": "opportunity", "related_id": opp.id}
    _as(student, create_activity, Activity, {"kind": "task", "subject": "Call back", "due_date": today(), **related})
    _as(manager, create_activity, Activity, {"kind": "task", "subject": "Send offer", "due_date": today(), **related})
    html = classroom.client_for(app, "teacher").get(f"/opportunities/{opp.id}?lang=en").get_data(as_text=True)
    tasks = re.search(r'data-testid="open-tasks">.*?</ul>', html, re.S).group(0)
    assert f'Call back</a>\n          <span class="text-muted">· {student.display_name}</span>' in tasks
    assert f'Send offer</a>\n          <span class="text-muted">· Boss {ESCAPED}</span>' in tasks
    assert SCRIPT not in html
