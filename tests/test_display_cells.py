"""List cells built in Python (issue 9, speed): the same links and text as url_for and Markup.format gave,
user data escaped."""

from __future__ import annotations

from decimal import Decimal

from flask import url_for
from markupsafe import Markup

from sandbox.accounts.models import Account
from sandbox.extensions import db
from sandbox.records import registry
from sandbox.records.display import detail_url, display_value, reference_link
from tests.conftest import act_as


def test_a_reference_in_a_list_is_escaped_and_links_its_record(app, classroom, create_account, create_opportunity):
    """An account named with markup is text in the opportunity list's account column, and links to it."""
    owner = classroom.user("studentA")
    account = create_account(owner, name='<script>alert("x")</script> & Co')
    create_opportunity(owner, name="Escaped deal", account_id=account.id, amount=Decimal("1000"))
    db.session.commit()
    page = classroom.client_for(app, "studentA").get("/opportunities/?lang=en").get_data(as_text=True)
    assert "<script>alert" not in page
    assert (f'<a href="/accounts/{account.id}">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co</a>'
            in page)


def test_cells_are_what_url_for_and_markup_format_gave(app, classroom, create_account, create_opportunity):
    owner = classroom.user("studentA")
    account = create_account(owner, name="Tea & <b>Co</b>")
    deal = create_opportunity(owner, name="Deal", account_id=account.id, amount=Decimal("1234.5"), stage="qualification")
    db.session.commit()
    with app.test_request_context("/?lang=en"):
        act_as(owner)
        for ident in (1, 7, 42, 987654321, 2**31 - 1):
            for table in ("accounts", "leads", "opportunities"):
                assert detail_url(table, ident) == url_for(f"{table}.detail", record_id=ident)
        assert reference_link(Account, account.id) == Markup('<a href="{}">{}</a>').format(
            url_for("accounts.detail", record_id=account.id), account.audit_label)
        entry = registry.get("opportunity")
        assert display_value(entry, deal, "account_id") == reference_link(Account, account.id)
        assert display_value(entry, deal, "name") == "Deal"
        assert display_value(entry, deal, "amount") == "CN¥1,234.50"  # English, the class without a scenario: CNY
        assert display_value(entry, deal, "stage") != "qualification"  # the stage's label, not its code
        assert display_value(entry, deal, "description") == ""
    act_as(None)
