"""Competitors (SPEC §5.5): students create them, the whole class reads them, their deals within visibility."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select

from sandbox.competitors.models import Competitor
from sandbox.extensions import db
from sandbox.opportunities.models import Opportunity
from sandbox.records.services import create_record
from tests import helpers
from tests.conftest import act_as


def make_competitor(classroom: Any, owner: str = "studentA", name: str = "Rival Ltd", **fields: Any) -> Competitor:
    act_as(classroom.user(owner))
    competitor = create_record(Competitor, {"name": name, "threat_level": "high", **fields})
    db.session.commit()
    act_as(None)
    return competitor


def make_opportunity(classroom: Any, owner: str, name: str, stage: str = "prospecting", **fields: Any) -> Opportunity:
    from sandbox.opportunities.services import create_opportunity

    act_as(classroom.user(owner))
    data = {"name": name, "stage": stage, "close_date": date(2030, 1, 31),
            "lost_reason": "price" if stage == "closed_lost" else None, **fields}
    opp = create_opportunity(Opportunity, data)
    db.session.commit()
    act_as(None)
    return opp


def add_competitor(classroom: Any, owner: str, opp: Opportunity, competitor: Competitor, note: str = "") -> None:
    from sandbox.opportunities.parties import add_competitor as add

    act_as(classroom.user(owner))
    add(opp, competitor, note)
    db.session.commit()
    act_as(None)


count = partial(helpers.count, Competitor, skip_visibility=True, include_deleted=True)


def test_student_creates_a_competitor_the_class_reads(app, classroom):
    student = classroom.client_for(app, "studentA")
    data = {"name": "Rival Ltd", "website": "https://rival.example.com", "threat_level": "high",
            "company_type": "manufacturer", "strengths": "Cheap", "weaknesses": "Slow", "products": "Tea machines"}
    response = student.post("/competitors/new", data=data)
    assert response.status_code == 302, response.data[:1500]
    competitor = db.session.scalars(select(Competitor).execution_options(skip_visibility=True)).one()
    assert competitor.owner_id == classroom.user("studentA").id
    assert competitor.class_id == classroom.classes["A"].id
    page = student.get(f"/competitors/{competitor.id}?lang=en").get_data(as_text=True)
    assert "Manufacturer" in page and "High" in page
    # The whole class reads it; only the owner (and superiors, staff) change it.
    for name in ("peerA", "studentA2", "readonlyA", "managerA", "teacher"):
        client = classroom.client_for(app, name)
        assert client.get(f"/competitors/{competitor.id}").status_code == 200, name
        assert "Rival Ltd" in client.get("/competitors/").get_data(as_text=True)
    peer = classroom.client_for(app, "peerA")
    assert peer.post(f"/competitors/{competitor.id}/edit", data={**data, "name": "Mine", "version": "1"}).status_code == 403
    assert peer.post(f"/competitors/{competitor.id}/delete").status_code == 403
    manager = classroom.client_for(app, "managerA")
    assert manager.post(f"/competitors/{competitor.id}/edit", data={**data, "name": "Rival Group", "version": "1"}
                        ).status_code == 302
    assert count(Competitor.name == "Rival Group") == 1


def test_other_classes_do_not_see_the_competitor(app, classroom):
    competitor = make_competitor(classroom)
    for name in ("studentB", "studentC", "teacher2"):
        client = classroom.client_for(app, name)
        assert client.get(f"/competitors/{competitor.id}").status_code == 404
        assert "Rival Ltd" not in client.get("/competitors/").get_data(as_text=True)
    student_b = classroom.client_for(app, "studentB")
    assert student_b.post(f"/competitors/{competitor.id}/delete").status_code == 404
    assert count(Competitor.deleted_at.is_(None)) == 1


@pytest.mark.parametrize("field,value", [("name", ""), ("threat_level", "apocalyptic"), ("company_type", "alien"),
                                         ("name", "x" * 201)])
def test_bad_inputs_get_messages_and_save_nothing(app, classroom, field, value):
    student = classroom.client_for(app, "studentA")
    response = student.post("/competitors/new", data={"name": "Rival", "threat_level": "low", field: value})
    assert response.status_code in (200, 400) and b"invalid-feedback" in response.data
    assert count() == 0


def test_company_type_is_a_code_table(app, classroom):
    teacher = classroom.client_for(app, "teacher")
    page = teacher.get("/admin/code-tables?table=company_type&lang=en")
    assert page.status_code == 200 and "Software vendor" in page.get_data(as_text=True)


def test_page_lists_only_visible_opportunities_with_wins_and_losses(app, classroom):
    competitor = make_competitor(classroom, owner="managerA")
    own_won = make_opportunity(classroom, "studentA", "Own won deal", stage="closed_won")
    own_lost = make_opportunity(classroom, "studentA", "Own lost deal", stage="closed_lost")
    own_open = make_opportunity(classroom, "studentA", "Own open deal")
    peer_won = make_opportunity(classroom, "peerA", "Peer secret deal", stage="closed_won")
    add_competitor(classroom, "studentA", own_won, competitor, "They undercut us")
    add_competitor(classroom, "studentA", own_lost, competitor)
    add_competitor(classroom, "studentA", own_open, competitor)
    add_competitor(classroom, "peerA", peer_won, competitor)

    page = classroom.client_for(app, "studentA").get(f"/competitors/{competitor.id}?lang=en").get_data(as_text=True)
    assert "Own won deal" in page and "Own lost deal" in page and "They undercut us" in page
    assert "Peer secret deal" not in page
    assert "Won against them: 1" in page and "Lost: 1" in page and "Open: 1" in page

    # The department manager sees both students' deals.
    page = classroom.client_for(app, "managerA").get(f"/competitors/{competitor.id}?lang=en").get_data(as_text=True)
    assert "Peer secret deal" in page and "Won against them: 2" in page

    page = classroom.client_for(app, "peerA").get(f"/competitors/{competitor.id}?lang=en").get_data(as_text=True)
    assert "Peer secret deal" in page and "Own won deal" not in page and "Won against them: 1" in page
