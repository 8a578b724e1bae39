"""A bored student's ways to earn points without the work, each of which must earn nothing (or the honest share).

Every test acts through the real services, as the student would through the pages, and grades the shipped
scenarios' objectives (Sales basics, Key-account selling), so a change to a scenario's keys shows here too.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlalchemy import insert, select

from sandbox.competitors.models import Competitor
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.opportunities.lines import add_line, remove_line
from sandbox.opportunities.models import Opportunity
from sandbox.opportunities.parties import add_competitor, add_contact_role, remove_competitor, remove_contact_role
from sandbox.opportunities.related_models import OpportunityCompetitor, OpportunityContactRole, OpportunityLine
from sandbox.org.models import utcnow
from sandbox.products.models import Product
from sandbox.records.models import Note
from sandbox.records.notes import add_note, delete_note
from sandbox.records.services import create_record, delete_record, transfer_record, update_record
from tests.test_objectives import (
    SALES_BASICS,
    SCENARIOS,
    as_user,
    calls,
    convert,
    make_run,
    make_shop,
    opportunity,
    outcome,
    reload,
    stages,
)


@pytest.fixture
def shop(classroom):
    return make_shop(classroom)


KEY_ACCOUNTS = (SCENARIOS / "key-accounts.yaml").read_text(encoding="utf-8")


def _contact(user, name="Wang Fang"):
    from sandbox.accounts.models import Account
    from sandbox.contacts.models import Contact

    account = as_user(user, create_record, Account, {"name": f"{name} Co."})
    return as_user(user, create_record, Contact, {"name": name, "account_id": account.id})


def test_qualifying_one_lead_five_times_is_one_lead(app, classroom):
    run = make_run(classroom)
    student = classroom.user("studentA")
    lead = as_user(student, create_record, Lead, {"name": "Toggle", "status": "new"})
    for status in ("qualified", "contacted", "qualified", "contacted", "qualified", "contacted", "qualified",
                   "contacted", "qualified"):
        as_user(student, update_record, reload(Lead, lead.id), {"status": status})
    got = outcome(run, student, "qualify-leads")
    assert (got.done, got.points) == (1, Decimal("2.00"))  # the honest share: one lead of five
    assert "did not count" in got.reason
    as_user(student, update_record, reload(Lead, lead.id), {"status": "contacted"})  # and now undone
    assert outcome(run, student, "qualify-leads").points == 0


def test_a_qualified_lead_that_is_converted_stays_qualified(app, classroom):
    run = make_run(classroom)
    student = classroom.user("studentA")
    lead = as_user(student, create_record, Lead, {"name": "Real", "company": "Tea Co.", "status": "new"})
    as_user(student, update_record, reload(Lead, lead.id), {"status": "qualified"})
    convert(student, lead)
    assert outcome(run, student, "qualify-leads").done == 1


def test_stages_back_and_forth_earn_nothing(app, classroom):
    run = make_run(classroom)
    student = classroom.user("studentA")
    deal = opportunity(student, "Seesaw", stage="qualification")
    stages(student, deal, "prospecting", "qualification", "prospecting", "qualification", "prospecting")
    got = outcome(run, student, "move-stages")
    assert got.points == 0 and got.done == 0
    honest = opportunity(student, "Honest")
    stages(student, honest, "qualification", "needs_analysis", "value_proposition", "proposal")
    assert outcome(run, student, "move-stages").points == Decimal("15.00")
    stages(student, honest, "prospecting")  # moved back to the start: the progress is undone
    assert outcome(run, student, "move-stages").points == 0


def test_adding_and_removing_a_line_three_times_earns_nothing(app, classroom, shop):
    run = make_run(classroom)
    student = classroom.user("studentA")
    deal = opportunity(student)
    for _ in range(3):
        as_user(student, add_line, reload(Opportunity, deal.id), reload(Product, shop.product.id), 1)
        line = db.session.scalars(select(OpportunityLine).where(OpportunityLine.opportunity_id == deal.id)).one()
        as_user(student, remove_line, reload(Opportunity, deal.id), line, reload(Product, shop.product.id))
    assert outcome(run, student, "add-lines").points == 0
    as_user(student, add_line, reload(Opportunity, deal.id), reload(Product, shop.product.id), 1)
    assert outcome(run, student, "add-lines").done == 1  # one line that stays


def test_five_calls_to_one_lead_reach_one_lead(app, classroom):
    run = make_run(classroom)
    student = classroom.user("studentA")
    lead = calls(student, 1)
    calls(student, 4, lead)
    got = outcome(run, student, "log-calls")
    assert (got.done, got.points) == (1, Decimal("2.00"))


def test_a_deleted_call_does_not_count(app, classroom):
    from sandbox.activities.models import Activity

    run = make_run(classroom)
    student = classroom.user("studentA")
    calls(student, 2)
    call = db.session.scalars(select(Activity).where(Activity.owner_id == student.id)
                              .execution_options(skip_visibility=True)).first()
    as_user(student, delete_record, reload(Activity, call.id))
    assert outcome(run, student, "log-calls").done == 1


VISITS = ("kind,subject,event_type,start_at,end_at\n" + "".join(
    f"event,Visit {i},visit,2030-01-0{i} 10:00,2030-01-0{i} 11:00\n" for i in range(1, 5))).encode()


def _import_visits(app, classroom) -> list[int]:
    from sandbox.activities.models import Activity

    client = classroom.client_for(app, "studentA")
    response = client.post("/activities/import?lang=en", data={"file": (io.BytesIO(VISITS), "visits.csv"),
                                                               "mode": "all"})
    assert response.status_code in (200, 302), response.data[:400]
    db.session.expire_all()
    ids = list(db.session.scalars(select(Activity.id).where(Activity.event_type == "visit")
                                  .execution_options(skip_visibility=True)))
    assert len(ids) == 4, response.get_data(as_text=True)[:2000]
    return ids


def test_imported_visits_do_not_count_by_default(app, classroom):
    from sandbox.oplog import LogEntry

    run = make_run(classroom, text=KEY_ACCOUNTS, name="key-accounts")
    student = classroom.user("studentA")
    _import_visits(app, classroom)
    assert set(db.session.scalars(select(LogEntry.source).where(LogEntry.verb == "activity.create"))) == {"import"}
    assert outcome(run, student, "site-visits").points == 0  # imports are not the student's typing (source: ui)


def test_imported_visits_count_only_where_the_scenario_says_so(app, classroom):
    from sandbox.activities.models import Activity

    text = KEY_ACCOUNTS.replace("verb: activity.create, field: event_type, to: visit, count: 3}",
                                "verb: activity.create, field: event_type, to: visit, count: 3, source: any}")
    run = make_run(classroom, text=text, name="key-accounts")
    student = classroom.user("studentA")
    ids = _import_visits(app, classroom)
    assert outcome(run, student, "site-visits").points == Decimal("10.00")
    for ident in ids:
        as_user(student, delete_record, reload(Activity, ident))
    assert outcome(run, student, "site-visits").points == 0


def test_adding_and_removing_a_contact_role_or_competitor_four_times_earns_nothing(app, classroom, shop):
    run = make_run(classroom, text=KEY_ACCOUNTS, name="key-accounts")
    student = classroom.user("studentA")
    deal = opportunity(student)
    contact = _contact(student)
    for _ in range(4):
        as_user(student, add_contact_role, reload(Opportunity, deal.id), contact, "decision_maker")
        row = db.session.scalars(select(OpportunityContactRole)).one()
        as_user(student, remove_contact_role, reload(Opportunity, deal.id), row, contact.name)
        as_user(student, add_competitor, reload(Opportunity, deal.id), reload(Competitor, shop.competitor.id))
        link = db.session.scalars(select(OpportunityCompetitor)).one()
        as_user(student, remove_competitor, reload(Opportunity, deal.id), link, shop.competitor.name)
    assert outcome(run, student, "contact-roles").points == 0
    assert outcome(run, student, "competitors").points == 0
    assert outcome(run, student, "primary-contact").points == 0


def test_three_competitors_on_one_deal_are_one_deal(app, classroom):
    run = make_run(classroom, text=KEY_ACCOUNTS, name="key-accounts")
    student = classroom.user("studentA")
    deal = opportunity(student)
    for name in ("Rival 1", "Rival 2", "Rival 3"):
        rival = as_user(student, create_record, Competitor, {"name": name})
        as_user(student, add_competitor, reload(Opportunity, deal.id), reload(Competitor, rival.id))
    got = outcome(run, student, "competitors")  # "Record the competitor on 3 deals"
    assert (got.done, got.points) == (1, Decimal("3.33"))


def test_creating_and_deleting_a_competitor_earns_nothing(app, classroom):
    run = make_run(classroom, text=KEY_ACCOUNTS, name="key-accounts")
    student = classroom.user("studentA")
    rival = as_user(student, create_record, Competitor, {"name": "Ghost rival"})
    assert outcome(run, student, "new-competitor").points == Decimal("5.00")
    as_user(student, delete_record, reload(Competitor, rival.id))
    assert outcome(run, student, "new-competitor").points == 0


def _generated_leads(student, n: int) -> list[int]:
    """Leads as a scenario load makes them: bulk-inserted for the student, with no entry of their own."""
    now = utcnow()
    rows = [{"name": f"Generated {i}", "company": f"Generated Co. {i}", "status": "new", "owner_id": student.id,
             "class_id": student.class_id, "created_by_id": student.id, "created_at": now, "updated_at": now,
             "version": 1} for i in range(n)]
    ids = list(db.session.scalars(insert(Lead).returning(Lead.id), rows))
    db.session.commit()
    return ids


def test_converting_leads_made_a_minute_ago_earns_nothing_when_leads_were_generated(app, classroom):
    run = make_run(classroom)
    student = classroom.user("studentA")
    for word in ("a", "b", "c"):
        convert(student, as_user(student, create_record, Lead, {"name": word, "status": "new"}))
    got = outcome(run, student, "convert-leads")  # Sales basics: convert the leads you were given
    assert got.points == 0 and "did not count" in got.reason
    for ident in _generated_leads(student, 3):
        convert(student, reload(Lead, ident))
    assert outcome(run, student, "convert-leads").points == Decimal("15.00")


def _won_deal(worker, shop, name: str) -> Opportunity:
    """A deal the worker wins themselves: a line, a competitor, closed won (First win's conditions)."""
    deal = opportunity(worker, name)
    as_user(worker, add_line, reload(Opportunity, deal.id), reload(Product, shop.product.id), 1)
    as_user(worker, add_competitor, reload(Opportunity, deal.id), reload(Competitor, shop.competitor.id))
    stages(worker, deal, "closed_won")
    return deal


def test_a_transfer_in_earns_nothing_and_the_worker_keeps_the_win(app, classroom, shop):
    run = make_run(classroom)
    worker, manager = classroom.user("studentA"), classroom.user("managerA")
    deal = _won_deal(worker, shop, "Won by the worker")
    assert outcome(run, worker, "first-won-deal").points == Decimal("20.00")
    as_user(manager, transfer_record, reload(Opportunity, deal.id), manager.id)
    assert reload(Opportunity, deal.id).owner_id == manager.id
    assert outcome(run, manager, "first-won-deal").points == 0
    assert outcome(run, worker, "first-won-deal").points == Decimal("20.00")


def test_a_managers_edit_of_an_unrelated_field_takes_nothing(app, classroom, shop):
    run = make_run(classroom)
    worker, manager = classroom.user("studentA"), classroom.user("managerA")
    deal = _won_deal(worker, shop, "Worked deal")
    as_user(manager, update_record, reload(Opportunity, deal.id), {"description": "Nice work"})
    assert outcome(run, manager, "first-won-deal").points == 0
    assert outcome(run, worker, "first-won-deal").points == Decimal("20.00")


def test_a_deleted_note_stays_evidence_for_the_instructor(app, classroom):
    run = make_run(classroom)
    worker, manager = classroom.user("studentA"), classroom.user("managerA")
    deal = opportunity(worker, "Noted deal")
    note = as_user(worker, add_note, reload(Opportunity, deal.id), "Needs: 200 gift boxes; budget 80k; decides: Li")
    as_user(manager, delete_note, reload(Opportunity, deal.id), reload(Note, note.id))
    assert reload(Note, note.id).deleted_at is not None  # soft-deleted, never gone
    got = outcome(run, worker, "visit-notes")
    assert [(d.kind, d.text, d.deleted_by) for d in got.documents] == [
        ("note", "Needs: 200 gift boxes; budget 80k; decides: Li", manager.display_name)]
    # The record page no longer shows it; the instructor's evidence page does, marked deleted.
    page = classroom.client_for(app, "studentA").get(f"/opportunities/{deal.id}?lang=en").get_data(as_text=True)
    assert f"/notes/{note.id}/delete" not in page  # gone from the notes panel (the timeline still tells)
    teacher = classroom.client_for(app, "teacher")
    evidence = teacher.get(f"/grading/students/{worker.id}?run={run.id}&lang=en").get_data(as_text=True)
    assert "200 gift boxes" in evidence and "Deleted by" in evidence and 'data-deleted="1"' in evidence


def test_objective_keys_are_validated():
    from seed.checks import check_scenario
    from seed.loading import ScenarioError, parse_scenario

    head = SALES_BASICS.split("\nobjectives:")[0]

    def problems(check: str) -> list[str]:
        text = f"{head}\nobjectives:\n  - {{id: x, title: {{zh: x, en: x}}, points: 1, check: {check}}}\n"
        try:
            return [f"{path}: {message}" for path, message in check_scenario(parse_scenario(text, "t.yaml"))]
        except ScenarioError as exc:
            return [str(exc)]

    assert problems("{kind: log_count, verb: lead.convert, origin: generated, source: any}") == []
    assert "source" in " ".join(problems("{kind: log_count, verb: lead.convert, source: typed}"))
    assert "origin" in " ".join(problems("{kind: record_count, record_type: lead, origin: mine}"))
    per = problems("{kind: log_count, verb: lead.convert, per: parent}")
    assert per and "objectives[0].check.per" in per[0] and "only verbs that add a child row" in per[0]
    assert problems("{kind: log_count, verb: opportunity.add_competitor, per: parent}") == []


def test_record_count_origin_counts_only_the_records_it_names(app, classroom):
    from tests.test_objectives import with_objectives

    run = make_run(classroom, text=with_objectives("""
  - {id: given, title: {zh: 给定, en: Given}, points: 10,
     check: {kind: record_count, record_type: lead, where: {status: qualified}, origin: generated}}
  - {id: made, title: {zh: 自建, en: Made}, points: 10,
     check: {kind: record_count, record_type: lead, where: {status: qualified}, origin: created}}
"""))
    student = classroom.user("studentA")
    as_user(student, create_record, Lead, {"name": "Typed", "status": "qualified"})
    assert (outcome(run, student, "given").done, outcome(run, student, "made").done) == (0, 1)
    (generated,) = _generated_leads(student, 1)
    as_user(student, update_record, reload(Lead, generated), {"status": "qualified"})
    assert (outcome(run, student, "given").done, outcome(run, student, "made").done) == (1, 1)


def test_record_counts_of_one_student_equal_the_whole_class_computation(app, classroom, shop):
    """A few students are scored on the records they could have earned only (records._candidates): transfers in
    and out, a classmate's win and a record owned since before the run give each student what the class gives."""
    from sandbox.access import reading_whole_log
    from sandbox.classroom.grading.gradebook import make_context
    from sandbox.classroom.objectives.checks import evaluate
    from sandbox.classroom.runs.lookup import class_students
    from tests.test_gradebook_incremental import _plain, scenario

    run = make_run(classroom, text=scenario())
    worker, manager, peer = classroom.user("studentA"), classroom.user("managerA"), classroom.user("peerA")
    deal = _won_deal(worker, shop, "Won by the worker")
    as_user(manager, transfer_record, reload(Opportunity, deal.id), manager.id)
    _won_deal(peer, shop, "The peer's win")
    for owner, name in ((worker, "Mine"), (worker, "Given away"), (peer, "Theirs")):
        as_user(owner, create_record, Lead, {"name": name, "status": "qualified"})
    given = db.session.scalar(select(Lead).where(Lead.name == "Given away"))
    as_user(worker, transfer_record, reload(Lead, given.id), peer.id)
    run = reload(type(run), run.id)
    ids = [s.id for s in class_students(run.class_id)]
    objectives = [o for o in run.scenario.objectives if o.check.kind == "record_count"]
    assert {o.id for o in objectives} >= {"first-won-deal", "qualified-owned"}
    for evidence in (False, True):
        with reading_whole_log():
            whole = {o.id: evaluate(o, make_context(run, ids, evidence)) for o in objectives}
            for student in ids:
                for o in objectives:
                    alone = evaluate(o, make_context(run, [student], evidence))
                    assert _plain(alone[student]) == _plain(whole[o.id][student]), (o.id, student)
    assert whole["first-won-deal"][worker.id].done == 1 and whole["first-won-deal"][manager.id].done == 0
