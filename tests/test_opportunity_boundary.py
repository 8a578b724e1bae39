"""The request boundary on the opportunity pages (issue 8): a refused service call leaves nothing behind and its
message stands next to its field (or is flashed on a one-click action); a GET on any page writes nothing.

The refusals here come after the service has done its work (rows flushed, log entry written), so the test sees
that the boundary, not the service, is what throws the work away.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, func, select

from sandbox.extensions import db
from sandbox.oplog import LogEntry
from sandbox.opportunities import lines, parties, services
from sandbox.opportunities.related_models import (
    OpportunityCompetitor,
    OpportunityContactRole,
    OpportunityLine,
    OpportunityPartner,
)
from sandbox.org.models import User
from sandbox.records.services import RecordError
from tests.test_opportunity_items import Deal, _as, make_deal, reload_opp, rows

REFUSAL = "Refused after the work was done."


@pytest.fixture
def deal(app, classroom) -> Deal:
    return make_deal(classroom)


def table_counts() -> dict[str, int]:
    """Rows per table, read fresh from the database."""
    db.session.expire_all()
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def refuse_after(monkeypatch: Any, module: Any, name: str, field: str | None = None) -> None:
    """Make `module.name` do its real work (flushed, logged) and then refuse with REFUSAL next to `field`."""
    real = getattr(module, name)

    def refusing(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        db.session.flush()
        raise RecordError(REFUSAL, field)

    monkeypatch.setattr(module, name, refusing)


@contextmanager
def commits_counted() -> Iterator[list[int]]:
    """Count the commits of every session while the block runs."""
    counted: list[int] = []

    def count(_session: Any) -> None:
        counted.append(1)

    event.listen(db.session, "after_commit", count)
    try:
        yield counted
    finally:
        event.remove(db.session, "after_commit", count)


def field_feedback(page: str, field: str) -> str:
    """The HTML from a form field's input to the end of its group, where its error message stands."""
    match = re.search(rf'<(input|select|textarea)[^>]*\bid="{field}"', page)
    assert match is not None, f"no field {field} on the page"
    rest = page[match.start():]
    following = re.search(r'<(input|select|textarea)[^>]*\bid="(?!csrf_token)', rest[1:])
    return rest[: following.start() + 1] if following else rest


def _owner(deal: Deal) -> User:
    return db.session.get(User, deal.opp.owner_id)


def _line(deal: Deal) -> OpportunityLine:
    _as(_owner(deal), lines.add_line, deal.opp, deal.products[0], 2)
    return rows(OpportunityLine, deal.opp)[0]


FORM_FLOWS: dict[str, tuple[Any, str, str, Callable[[Deal], tuple[str, dict[str, str]]]]] = {
    "line_add": (lines, "add_line", "quantity", lambda d: (
        f"/opportunities/{d.opp.id}/lines/new?lang=en",
        {"product_id": str(d.products[0].id), "quantity": "1", "discount": "0"})),
    "line_edit": (lines, "update_line", "discount", lambda d: (
        f"/opportunities/{d.opp.id}/lines/{_line(d).id}/edit?lang=en",
        {"quantity": "3", "unit_price": "10", "discount": "5"})),
    "contact_role_add": (parties, "add_contact_role", "role", lambda d: (
        f"/opportunities/{d.opp.id}/contact-roles/new?lang=en",
        {"contact_id": str(d.contacts[0].id), "role": "decision_maker", "is_primary": "y"})),
    "partner_add": (parties, "add_partner", "note", lambda d: (
        f"/opportunities/{d.opp.id}/partners/new?lang=en", {"account_id": str(d.partner.id), "note": "reseller"})),
    "competitor_add": (parties, "add_competitor", "note", lambda d: (
        f"/opportunities/{d.opp.id}/competitors/new?lang=en", {"competitor_id": str(d.competitor.id), "note": "x"})),
}


@pytest.mark.parametrize("flow", list(FORM_FLOWS))
def test_a_refused_item_form_leaves_nothing_and_shows_the_message_by_its_field(app, classroom, deal, monkeypatch,
                                                                            flow):
    module, name, field, request_of = FORM_FLOWS[flow]
    path, data = request_of(deal)
    student = classroom.client_for(app, "studentA")
    before, amount = table_counts(), reload_opp(deal.opp.id).amount
    refuse_after(monkeypatch, module, name, field)
    response = student.post(path, data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert REFUSAL in field_feedback(page, field)
    assert table_counts() == before  # no row, no log entry
    assert reload_opp(deal.opp.id).amount == amount
    if flow == "line_edit":
        assert rows(OpportunityLine, deal.opp)[0].quantity == 2


def _role(deal: Deal) -> OpportunityContactRole:
    _as(_owner(deal), parties.add_contact_role, deal.opp, deal.contacts[0], "decision_maker", False)
    return rows(OpportunityContactRole, deal.opp)[0]


def _partner(deal: Deal) -> OpportunityPartner:
    _as(_owner(deal), parties.add_partner, deal.opp, deal.partner, "reseller")
    return rows(OpportunityPartner, deal.opp)[0]


def _competitor(deal: Deal) -> OpportunityCompetitor:
    _as(_owner(deal), parties.add_competitor, deal.opp, deal.competitor, "")
    return rows(OpportunityCompetitor, deal.opp)[0]


CLICK_FLOWS: dict[str, tuple[Any, str, Callable[[Deal], str]]] = {
    "line_remove": (lines, "remove_line", lambda d: f"/opportunities/{d.opp.id}/lines/{_line(d).id}/remove"),
    "contact_role_primary": (parties, "set_primary_contact",
                             lambda d: f"/opportunities/{d.opp.id}/contact-roles/{_role(d).id}/primary"),
    "contact_role_remove": (parties, "remove_contact_role",
                            lambda d: f"/opportunities/{d.opp.id}/contact-roles/{_role(d).id}/remove"),
    "partner_remove": (parties, "remove_partner",
                       lambda d: f"/opportunities/{d.opp.id}/partners/{_partner(d).id}/remove"),
    "competitor_remove": (parties, "remove_competitor",
                          lambda d: f"/opportunities/{d.opp.id}/competitors/{_competitor(d).id}/remove"),
    "stage": (services, "change_stage", lambda d: f"/opportunities/{d.opp.id}/stage"),
}


@pytest.mark.parametrize("flow", list(CLICK_FLOWS))
def test_a_refused_one_click_action_leaves_nothing_and_flashes_the_message(app, classroom, deal, monkeypatch, flow):
    module, name, path_of = CLICK_FLOWS[flow]
    path = path_of(deal)
    student = classroom.client_for(app, "studentA")
    before = table_counts()
    opp_before = reload_opp(deal.opp.id)
    stage, version = opp_before.stage, opp_before.version
    refuse_after(monkeypatch, module, name)
    response = student.post(path, data={"stage": "negotiation"})
    assert response.status_code == 302
    assert table_counts() == before  # the row is still there, no log entry
    assert (reload_opp(deal.opp.id).stage, reload_opp(deal.opp.id).version) == (stage, version)
    page = student.get(response.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert REFUSAL in page


@pytest.mark.parametrize("form,message", [
    ({"stage": "closed_lost"}, "Say why the opportunity was lost."),
])
def test_a_stage_move_the_service_refuses_changes_nothing(app, classroom, deal, form, message):
    student = classroom.client_for(app, "studentA")
    before = table_counts()
    response = student.post(f"/opportunities/{deal.opp.id}/stage?lang=en", data=form)
    assert response.status_code == 302
    assert table_counts() == before
    assert reload_opp(deal.opp.id).stage == "proposal"
    assert message in student.get(f"/opportunities/{deal.opp.id}?lang=en").get_data(as_text=True)


def test_reopening_an_open_opportunity_is_refused_and_changes_nothing(app, classroom, deal):
    student = classroom.client_for(app, "studentA")
    before = table_counts()
    response = student.post(f"/opportunities/{deal.opp.id}/reopen?lang=en")
    assert response.status_code == 302
    assert table_counts() == before
    page = student.get(f"/opportunities/{deal.opp.id}?lang=en").get_data(as_text=True)
    assert "This opportunity is open already." in page


def test_a_refused_reopen_after_its_work_leaves_the_deal_closed(app, classroom, deal, monkeypatch):
    _as(_owner(deal), services.change_stage, deal.opp, "closed_won")
    student = classroom.client_for(app, "studentA")
    before = table_counts()
    refuse_after(monkeypatch, services, "reopen")
    response = student.post(f"/opportunities/{deal.opp.id}/reopen?lang=en")
    assert response.status_code == 302
    assert table_counts() == before
    assert reload_opp(deal.opp.id).stage == "closed_won"
    assert REFUSAL in student.get(f"/opportunities/{deal.opp.id}?lang=en").get_data(as_text=True)


def test_observers_and_outsiders_meet_the_door_before_any_service(app, classroom, deal):
    """get_writable_or_404: an observer is refused for any id, another class's student finds nothing."""
    opp = deal.opp.id
    observer = classroom.client_for(app, "readonlyA")
    outsider = classroom.client_for(app, "studentB")
    for path in (f"/opportunities/{opp}/stage", f"/opportunities/{opp}/reopen", f"/opportunities/{opp}/lines/new",
                 f"/opportunities/{opp}/partners/new"):
        assert observer.post(path).status_code == 403
        assert observer.post(path.replace(f"/{opp}/", "/999999/")).status_code == 403
        assert outsider.post(path).status_code == 404


def test_a_get_on_every_opportunity_page_writes_nothing(app, classroom, make_lead):
    assert_gets_write_nothing(app, classroom, make_lead, "opportunities.")


def assert_gets_write_nothing(app: Any, classroom: Any, make_lead: Any, prefix: str) -> None:
    """GET every page of the blueprint as its owner and as the teacher: no commit, no row, no log entry."""
    from tests.test_matrix import ROUTES, World, _methods, visits

    world = World(app, classroom, make_lead)
    endpoints = sorted({rule.endpoint for rule in app.url_map.iter_rules()
                        if rule.endpoint.startswith(prefix) and "GET" in _methods(rule) and rule.endpoint in ROUTES})
    assert len(endpoints) >= 5
    for persona in ("studentA", "teacher"):
        planned = [visits(world, endpoint, "GET", persona) for endpoint in endpoints]
        db.session.commit()
        client = classroom.client_for(app, persona)
        before = table_counts()
        log_before = db.session.scalar(select(func.max(LogEntry.id)))
        statuses = []
        with commits_counted() as commits:
            for visit in planned:
                response = client.get(visit.path)
                statuses.append(response.status_code)
                response.close()
        assert 200 in statuses and all(s < 500 for s in statuses), statuses
        assert commits == [], f"{persona}: GET requests committed"
        assert table_counts() == before
        assert db.session.scalar(select(func.max(LogEntry.id))) == log_before


def test_the_stage_history_names_the_acting_user(app, classroom, deal):
    """record_stage asks oplog.current_actor() who moved the deal (the one way to ask who is acting)."""
    from sandbox.opportunities.models import StageHistory

    teacher = classroom.client_for(app, "teacher")
    assert teacher.post(f"/opportunities/{deal.opp.id}/stage", data={"stage": "negotiation"}).status_code == 302
    moves = db.session.scalars(select(StageHistory).where(StageHistory.opportunity_id == deal.opp.id)
                               .order_by(StageHistory.id)).all()
    assert [(m.to_stage, m.changed_by_id) for m in moves] == [
        ("proposal", classroom.user("studentA").id), ("negotiation", classroom.user("teacher").id)]
