"""A record type whose log label is one column (`__label_column__`) has its references' labels read as
(id, label) rows: the label is the same as `audit_label`, invisible records stay unlabelled, and a list page
reads two columns of the records it references, not all of them."""

from __future__ import annotations

from sandbox import access
from sandbox.accounts.models import Account
from sandbox.competitors.models import Competitor
from sandbox.contacts.models import Contact
from sandbox.extensions import db
from sandbox.opportunities.models import Opportunity
from sandbox.records import display
from tests.conftest import record_factory
from tests.test_kept_identity import statements_of

LABELLED = {"account": Account, "contact": Contact, "competitor": Competitor, "opportunity": Opportunity}


def test_the_label_column_is_the_audit_label_and_the_rule_still_applies(app, classroom):
    student, other = classroom.user("studentA"), classroom.user("studentB")
    for kind, model in LABELLED.items():
        assert model.__label_column__ == "name"
        mine = record_factory(kind)(student, name=f"Mine {kind} «&»")
        theirs = record_factory(kind)(other, name=f"Theirs {kind}")
        assert mine.audit_label == getattr(mine, model.__label_column__)
        with app.test_request_context("/"):
            access.use_viewer(access.viewer_for(db.session.get(type(student), student.id)))
            display.prime_references([mine.id, theirs.id], model)
            assert display.reference_label(model, mine.id) == mine.audit_label
            assert display.reference_label(model, theirs.id) is None  # another class: not visible
            db.session.rollback()


def test_a_list_reads_the_label_column_of_the_records_it_references(app, classroom):
    student = classroom.user("studentA")
    account = record_factory("account")(student, name="Tea House")
    record_factory("contact")(student, name="Li Lei", account_id=account.id)
    client = classroom.client_for(app, "studentA")
    seen = statements_of(app, client, "/contacts/")
    reads = [" ".join(s.split()) for s in seen if "FROM accounts" in s]
    assert reads and all(s.startswith("SELECT accounts.id, accounts.name FROM accounts") for s in reads), reads
    assert "Tea House" in client.get("/contacts/").get_data(as_text=True)
