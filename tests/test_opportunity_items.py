"""An opportunity's product lines, contact roles, partners and competitors (SPEC §5.4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from sandbox.accounts.models import Account
from sandbox.competitors.models import Competitor
from sandbox.contacts.models import Contact
from sandbox.extensions import db
from sandbox.oplog import LogEntry
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.related_models import (
    OpportunityCompetitor,
    OpportunityContactRole,
    OpportunityLine,
    OpportunityPartner,
)
from sandbox.opportunities.services import create_opportunity
from sandbox.products.models import Product
from sandbox.products.services import create_product
from sandbox.records.services import create_record, delete_record
from tests.conftest import act_as
from tests.helpers import opportunity_page


@dataclass
class Deal:
    opp: Opportunity
    account: Account
    contacts: list[Contact]
    products: list[Product]
    product_b: Product
    competitor: Competitor
    competitor_b: Competitor
    partner: Account
    contact_b: Contact


def _as(user: Any, fn: Any, *args: Any) -> Any:
    act_as(user)
    result = fn(*args)
    db.session.commit()
    act_as(None)
    return result


def _product(classroom: Any, klass: str, code: str, price: str) -> Product:
    return _as(classroom.user("teacher"), create_product, Product, {
        "class_id": classroom.classes[klass].id, "code": code, "name": f"Product {code}",
        "list_price": Decimal(price), "active": True})


@pytest.fixture
def deal(app, classroom) -> Deal:
    return make_deal(classroom)


def make_deal(classroom: Any) -> Deal:
    """An opportunity of studentA with contacts, products, competitors and a partner to pick from."""
    student, student_b = classroom.user("studentA"), classroom.user("studentB")
    account = _as(student, create_record, Account, {"name": "Tea House"})
    partner = _as(student, create_record, Account, {"name": "Reseller Co"})
    contacts = [_as(student, create_record, Contact, {"name": f"Contact {i}", "account_id": account.id})
                for i in range(6)]
    opp = _as(student, create_opportunity, Opportunity, {
        "name": "Big tea deal", "account_id": account.id, "stage": "proposal", "close_date": date(2030, 6, 30),
        "amount": Decimal("1000")})
    products = [_product(classroom, "A", f"P-{i:02}", f"{100 + i}.50") for i in range(20)]
    return Deal(
        opp=opp, account=account, contacts=contacts, products=products,
        product_b=_product(classroom, "B", "B-01", "10"),
        competitor=_as(student, create_record, Competitor, {"name": "Rival Ltd"}),
        competitor_b=_as(student_b, create_record, Competitor, {"name": "Rival of B"}),
        partner=partner,
        contact_b=_as(student_b, create_record, Contact, {"name": "Contact of B"}),
    )


def reload_opp(ident: int) -> Opportunity:
    return db.session.scalars(select(Opportunity).where(Opportunity.id == ident)
                              .execution_options(skip_visibility=True, populate_existing=True)).one()


def rows(model: Any, opp: Opportunity) -> list[Any]:
    return list(db.session.scalars(select(model).where(model.opportunity_id == opp.id).order_by(model.id)
                                   .execution_options(populate_existing=True)))


def add_line(client: Any, deal: Deal, product: Product, **fields: Any) -> Any:
    data = {"product_id": str(product.id), "quantity": "1", "discount": "0", **{k: str(v) for k, v in fields.items()}}
    return client.post(f"/opportunities/{deal.opp.id}/lines/new?lang=en", data=data)


# ---- product lines --------------------------------------------------------------------------------

def test_amount_follows_the_lines(app, classroom, deal):
    student = classroom.client_for(app, "studentA")
    p0, p1 = deal.products[0], deal.products[1]
    assert add_line(student, deal, p0, quantity=2).status_code == 302  # unit price defaults to the list price
    line = rows(OpportunityLine, deal.opp)[0]
    assert (line.unit_price, line.total) == (Decimal("100.50"), Decimal("201.00"))
    assert reload_opp(deal.opp.id).amount == Decimal("201.00")
    assert add_line(student, deal, p1, quantity=3, unit_price="200", discount="10").status_code == 302
    assert reload_opp(deal.opp.id).amount == Decimal("741.00")  # 201 + 3 × 200 × 0.9
    second = rows(OpportunityLine, deal.opp)[1]
    response = student.post(f"/opportunities/{deal.opp.id}/lines/{second.id}/edit",
                            data={"quantity": "1", "unit_price": "200", "discount": "50"})
    assert response.status_code == 302
    assert reload_opp(deal.opp.id).amount == Decimal("301.00")
    # The edit form ignores the amount while there are lines, and says so.
    form = student.get(f"/opportunities/{deal.opp.id}/edit?lang=en").get_data(as_text=True)
    assert "follows the product lines" in form
    response = student.post(f"/opportunities/{deal.opp.id}/edit", data={
        "name": "Big tea deal", "account_id": str(deal.account.id), "stage": "proposal", "amount": "99999",
        "close_date": "2030-06-30", "version": str(reload_opp(deal.opp.id).version)})
    assert response.status_code == 302
    assert reload_opp(deal.opp.id).amount == Decimal("301.00")
    assert student.post(f"/opportunities/{deal.opp.id}/lines/{second.id}/remove").status_code == 302
    assert reload_opp(deal.opp.id).amount == Decimal("201.00")
    page = student.get(f"/opportunities/{deal.opp.id}?lang=en").get_data(as_text=True)
    table = page.split('data-testid="opportunity-lines"')[1].split("</tbody>")[0]
    assert "Product P-00" in table and "Product P-01" not in table
    # The log names the product in each entry's summary.
    entry = db.session.scalars(select(LogEntry).where(LogEntry.verb == "opportunity.add_line")
                               .order_by(LogEntry.id)).first()
    assert entry.params["product"] == "P-00 Product P-00" and entry.object_id == deal.opp.id
    assert {r["type"] for r in entry.changes["related"]} == {"opportunity_line"}
    verbs = set(db.session.scalars(select(LogEntry.verb)))
    assert {"opportunity.add_line", "opportunity.update_line", "opportunity.remove_line"} <= verbs


@pytest.mark.parametrize("fields,message", [
    ({"quantity": "-1"}, "more than zero"),
    ({"quantity": "0"}, "more than zero"),
    ({"discount": "101"}, "percentage from 0 to 100"),
    ({"discount": "-5"}, "percentage from 0 to 100"),
    ({"unit_price": "-0.01"}, "Must not be negative"),
    ({"quantity": "lots"}, "Not a valid decimal"),
])
def test_bad_line_inputs_get_messages_and_change_nothing(app, classroom, deal, fields, message):
    student = classroom.client_for(app, "studentA")
    response = add_line(student, deal, deal.products[0], **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert rows(OpportunityLine, deal.opp) == []
    assert reload_opp(deal.opp.id).amount == Decimal("1000.00")


def test_bad_line_edit_keeps_the_line(app, classroom, deal):
    student = classroom.client_for(app, "studentA")
    add_line(student, deal, deal.products[0], quantity=2)
    line = rows(OpportunityLine, deal.opp)[0]
    response = student.post(f"/opportunities/{deal.opp.id}/lines/{line.id}/edit?lang=en",
                            data={"quantity": "2", "unit_price": "10", "discount": "150"})
    assert response.status_code == 400 and "percentage from 0 to 100" in response.get_data(as_text=True)
    assert rows(OpportunityLine, deal.opp)[0].discount == Decimal("0")


def test_forged_ids_answer_404_and_change_nothing(app, classroom, deal):
    student = classroom.client_for(app, "studentA")
    opp = deal.opp.id
    assert add_line(student, deal, deal.product_b).status_code == 404
    assert student.post(f"/opportunities/{opp}/lines/new", data={"product_id": "999999", "quantity": "1"}
                        ).status_code == 404
    assert student.post(f"/opportunities/{opp}/competitors/new", data={"competitor_id": str(deal.competitor_b.id)}
                        ).status_code == 404
    assert student.post(f"/opportunities/{opp}/contact-roles/new",
                        data={"contact_id": str(deal.contact_b.id), "role": "influencer"}).status_code == 404
    assert student.post(f"/opportunities/{opp}/partners/new", data={"account_id": "2147483647"}).status_code == 404
    # A contact of the same class that the student may not see (peerA's, private sharing) is just as unknown.
    peer_contact = _as(classroom.user("peerA"), create_record, Contact, {"name": "Peer's contact"})
    assert student.post(f"/opportunities/{opp}/contact-roles/new",
                        data={"contact_id": str(peer_contact.id), "role": "user"}).status_code == 404
    # A child row of another opportunity is not reachable through this one.
    other = _as(classroom.user("studentA"), create_opportunity, Opportunity, {"name": "Other", "stage": "prospecting"})
    add_line(student, Deal(other, *[None] * 8), deal.products[0])
    foreign_line = rows(OpportunityLine, other)[0]
    assert student.post(f"/opportunities/{opp}/lines/{foreign_line.id}/remove").status_code == 404
    assert len(rows(OpportunityLine, other)) == 1
    for model in (OpportunityLine, OpportunityContactRole, OpportunityPartner, OpportunityCompetitor):
        assert rows(model, deal.opp) == []


def test_only_writers_change_items(app, classroom, deal):
    owner = classroom.client_for(app, "studentA")
    add_line(owner, deal, deal.products[0])
    line = rows(OpportunityLine, deal.opp)[0]
    opp = deal.opp.id
    for name, status in (("peerA", 404), ("studentB", 404), ("teacher2", 404), ("readonlyA", 403)):
        client = classroom.client_for(app, name)
        assert add_line(client, deal, deal.products[1]).status_code == status, name
        assert client.post(f"/opportunities/{opp}/lines/{line.id}/remove").status_code == status, name
        assert client.get(f"/opportunities/{opp}/lines/{line.id}/edit").status_code == status, name
        assert client.post(f"/opportunities/{opp}/competitors/new", data={"competitor_id": str(deal.competitor.id)}
                           ).status_code == status, name
    page = classroom.client_for(app, "readonlyA").get(f"/opportunities/{opp}").get_data(as_text=True)
    assert "Product P-00" in page and "/lines/new" not in page and "/remove" not in page
    assert len(rows(OpportunityLine, deal.opp)) == 1 and rows(OpportunityCompetitor, deal.opp) == []
    # The department manager and the instructor write their subordinates' deals.
    assert add_line(classroom.client_for(app, "managerA"), deal, deal.products[1]).status_code == 302
    assert add_line(classroom.client_for(app, "teacher"), deal, deal.products[2]).status_code == 302
    assert len(rows(OpportunityLine, deal.opp)) == 3


def test_pickers_offer_only_the_opportunitys_class(app, classroom, deal):
    page = opportunity_page(classroom.client_for(app, "teacher"), deal.opp.id)
    assert "Product P-00" in page and "B-01" not in page
    assert "Rival Ltd" in page and "Rival of B" not in page
    assert "Contact 0" in page and "Contact of B" not in page


# ---- contact roles, partners, competitors -----------------------------------------------------------

def test_exactly_one_primary_contact(app, classroom, deal):
    student = classroom.client_for(app, "studentA")
    url = f"/opportunities/{deal.opp.id}/contact-roles"
    c0, c1, c2 = deal.contacts[:3]
    assert student.post(f"{url}/new", data={"contact_id": str(c0.id), "role": "decision_maker"}).status_code == 302
    assert student.post(f"{url}/new", data={"contact_id": str(c1.id), "role": "influencer"}).status_code == 302

    def primaries() -> list[int]:
        return [r.contact_id for r in rows(OpportunityContactRole, deal.opp) if r.is_primary]

    assert primaries() == [c0.id]  # the first one is primary by default
    assert student.post(f"{url}/new", data={"contact_id": str(c2.id), "role": "user", "is_primary": "y"}
                        ).status_code == 302
    assert primaries() == [c2.id]
    first = rows(OpportunityContactRole, deal.opp)[0]
    assert student.post(f"{url}/{first.id}/primary").status_code == 302
    assert primaries() == [c0.id]
    assert student.post(f"{url}/{first.id}/remove").status_code == 302
    assert primaries() == [c1.id]  # the longest-standing other contact takes over
    # A contact has one role per opportunity; an unknown role is refused.
    response = student.post(f"{url}/new?lang=en", data={"contact_id": str(c1.id), "role": "evaluator"})
    assert response.status_code == 400 and "has a role on this opportunity already" in response.get_data(as_text=True)
    response = student.post(f"{url}/new", data={"contact_id": str(c0.id), "role": "king"})
    assert response.status_code == 400
    assert len(rows(OpportunityContactRole, deal.opp)) == 2
    assert "opportunity.set_primary_contact" in set(db.session.scalars(select(LogEntry.verb)))


def test_partners_and_competitors(app, classroom, deal):
    student = classroom.client_for(app, "studentA")
    opp = deal.opp.id
    response = student.post(f"/opportunities/{opp}/partners/new", data={"account_id": str(deal.partner.id),
                                                                         "note": "Installs the machines"})
    assert response.status_code == 302
    response = student.post(f"/opportunities/{opp}/partners/new?lang=en", data={"account_id": str(deal.account.id)})
    assert response.status_code == 400 and "own account cannot be its partner" in response.get_data(as_text=True)
    response = student.post(f"/opportunities/{opp}/competitors/new", data={"competitor_id": str(deal.competitor.id),
                                                                            "note": "Cheaper"})
    assert response.status_code == 302
    response = student.post(f"/opportunities/{opp}/competitors/new?lang=en",
                            data={"competitor_id": str(deal.competitor.id)})
    assert response.status_code == 400 and "listed on this opportunity already" in response.get_data(as_text=True)
    page = student.get(f"/opportunities/{opp}").get_data(as_text=True)
    assert "Installs the machines" in page and "Cheaper" in page
    entry = db.session.scalars(select(LogEntry).where(LogEntry.verb == "opportunity.add_competitor")).one()
    row = rows(OpportunityCompetitor, deal.opp)[0]
    # The entry names the row it added, so grading can tell whether it still stands.
    assert entry.params == {"competitor": "Rival Ltd", "child_id": row.id}
    partner = rows(OpportunityPartner, deal.opp)[0]
    assert student.post(f"/opportunities/{opp}/competitors/{row.id}/remove").status_code == 302
    assert student.post(f"/opportunities/{opp}/partners/{partner.id}/remove").status_code == 302
    assert rows(OpportunityCompetitor, deal.opp) == [] and rows(OpportunityPartner, deal.opp) == []


# ---- no N+1 ---------------------------------------------------------------------------------------

def test_detail_page_issues_a_fixed_number_of_queries(app, classroom, deal):
    from sandbox.opportunities import lines, parties

    student = classroom.client_for(app, "studentA")
    opp = deal.opp
    user = classroom.user("studentA")

    def fill(n_lines: int, n_roles: int, n_competitors: int) -> None:
        act_as(user)
        o = reload_opp(opp.id)
        have = len(rows(OpportunityLine, o))
        for product in deal.products[have:n_lines]:
            lines.add_line(o, product, Decimal("1"))
        have = len(rows(OpportunityContactRole, o))
        for contact in deal.contacts[have:n_roles]:
            parties.add_contact_role(o, contact, "influencer")
        competitors = [deal.competitor] + [create_record(Competitor, {"name": f"Rival {i}"}) for i in range(2)]
        have = len(rows(OpportunityCompetitor, o))
        for competitor in competitors[have:n_competitors]:
            parties.add_competitor(o, competitor, "note")
        db.session.commit()
        act_as(None)

    def queries() -> int:
        seen: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = student.get(f"/opportunities/{opp.id}")
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200
        return len(seen)

    queries()  # warm: a process's first page loads the picklists it then keeps (sandbox/codes/services.py)
    fill(1, 1, 1)
    small = queries()
    fill(20, 5, 3)
    assert db.session.scalar(select(func.count()).select_from(OpportunityLine)) == 20
    large = queries()
    assert large == small, f"{small} queries with 1 line, {large} with 20"


def test_contact_picker_offers_the_accounts_contacts_first(app, classroom, deal):
    import re

    student = classroom.client_for(app, "studentA")
    other = _as(classroom.user("studentA"), create_record, Account, {"name": "Another Co"})
    _as(classroom.user("studentA"), create_record, Contact, {"name": "Aaron Stranger", "account_id": other.id})
    _as(classroom.user("studentA"), create_record, Contact, {"name": "Abe Loose"})
    url = f"/opportunities/{deal.opp.id}/contact-roles/new?lang=en"
    assert student.post(url, data={"contact_id": str(deal.contacts[0].id), "role": "user"}).status_code == 302
    for page in (student.get(url).get_data(as_text=True),
                 opportunity_page(student, deal.opp.id)):
        select_html = re.search(r'<select[^>]*name="contact_id".*?</select>', page, re.S).group(0)
        groups = re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select_html, re.S)
        assert [label for label, _body in groups] == ["Contacts of Tea House", "Other contacts"]
        own = re.findall(r">([^<]+)</option>", groups[0][1])
        assert own == ["—", *[f"Contact {i}" for i in range(1, 6)]]  # Contact 0 has a role already
        rest = re.findall(r">([^<]+)</option>", groups[1][1])
        assert "Aaron Stranger" in rest and "Abe Loose" in rest and not any(n.startswith("Contact ") for n in rest)
    # A deal without an account keeps the plain list.
    act_as(classroom.user("studentA"))
    bare = create_opportunity(Opportunity, {"name": "No account", "stage": "proposal", "close_date": date(2030, 1, 1)})
    db.session.commit()
    act_as(None)
    page = student.get(f"/opportunities/{bare.id}/contact-roles/new?lang=en").get_data(as_text=True)
    assert "<optgroup" not in page and "Aaron Stranger" in page


def test_the_page_sends_its_pickers_empty_and_the_pickers_answer_leaves_out_what_is_taken(app, classroom, deal):
    """The opportunity page runs no query for its pickers (they hold the placeholder; the page asks
    /opportunities/<id>/pickers when a form is reached for). The answer offers what the full forms offer: not
    a competitor or partner already on the deal, not its own account; a deleted deal has none."""
    from tests.test_kept_identity import statements_of

    student = classroom.client_for(app, "studentA")
    seen = statements_of(app, student, f"/opportunities/{deal.opp.id}")
    assert not [s for s in seen if "'product' AS picker" in s or "FROM products" in s], "the page read its pickers"
    url = f"/opportunities/{deal.opp.id}"
    assert student.post(f"{url}/competitors/new", data={"competitor_id": str(deal.competitor.id)}).status_code == 302
    assert student.post(f"{url}/partners/new", data={"account_id": str(deal.partner.id)}).status_code == 302
    choices = student.get(f"{url}/pickers").get_json()
    assert f'value="{deal.competitor.id}"' not in choices["competitor_id"]
    assert f'value="{deal.partner.id}"' not in choices["account_id"]
    assert f'value="{deal.account.id}"' not in choices["account_id"]
    assert "Product P-00" in choices["product_id"] and "Rival of B" not in choices["competitor_id"]
    # The same choices as the full form's page (its own picker, every option, in the same order).
    full = student.get(f"{url}/competitors/new?lang=en").get_data(as_text=True)
    assert choices["competitor_id"] in full
    assert classroom.client_for(app, "readonlyA").get(f"{url}/pickers").status_code in (403, 404)
    act_as(classroom.user("studentA"))
    delete_record(reload_opp(deal.opp.id))
    db.session.commit()
    act_as(None)
    assert student.get(f"{url}/pickers").status_code == 404


def test_the_stage_history_comes_with_the_child_rows_in_the_order_of_its_moves(app, classroom, deal):
    """The stage history is one kind of the page's child rows (no statement of its own): shown oldest move first
    by when it happened, not by row id (generated books write past moves after newer rows), with the days in
    each stage, and a move nobody is named for shows "—"."""
    from datetime import timedelta

    from sqlalchemy import insert

    from sandbox.opportunities.models import StageHistory
    from tests.test_kept_identity import statements_of

    created = db.session.scalar(select(StageHistory.changed_at).where(StageHistory.opportunity_id == deal.opp.id))
    start = created - timedelta(days=40)  # the days follow from the moves' times, not from the test's clock
    db.session.execute(insert(StageHistory), [  # ids after the creation's row, times before it
        {"opportunity_id": deal.opp.id, "from_stage": "qualification", "to_stage": "proposal",
         "changed_by_id": None, "changed_at": start + timedelta(days=10)},
        {"opportunity_id": deal.opp.id, "from_stage": None, "to_stage": "qualification",
         "changed_by_id": classroom.user("studentA").id, "changed_at": start}])
    db.session.execute(update(StageHistory).where(StageHistory.opportunity_id == deal.opp.id,
                                                  StageHistory.changed_at == created)
                       .values(from_stage="proposal", to_stage="proposal"))
    db.session.commit()
    student = classroom.client_for(app, "studentA")
    seen = statements_of(app, student, f"/opportunities/{deal.opp.id}?lang=en")
    assert not [s for s in seen if s.lstrip().startswith("SELECT opportunity_stage_history")], "read apart"
    page = student.get(f"/opportunities/{deal.opp.id}?lang=en").get_data(as_text=True)
    table = page.split('data-testid="stage-history"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [[cell.strip() for cell in re.sub(r"<[^>]+>", "|", row).split("|") if cell.strip()]
            for row in table.split("<tr>")[1:]]
    name = classroom.user("studentA").display_name
    assert [row[1:] for row in rows] == [[name, "—", "Qualification", "10"], ["—", "Qualification", "Proposal", "30"],
                                         [name, "Proposal", "Proposal", "0"]], rows  # (when, who, from, to, days)
