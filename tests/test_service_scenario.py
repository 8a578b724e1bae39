"""The Service desk scenario and the generation of campaigns, cases and knowledge articles: deterministic,
consistent with the workflow contract (open states reached by allowed moves, timestamps in order, the SLA
deadline), members from the student's own book, and loaded, reset and undone like the rest of a book."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sandbox.campaigns.models import Campaign, CampaignMember
from sandbox.cases.models import Case, CaseHistory
from sandbox.extensions import db
from sandbox.knowledge.models import Article
from seed import SCENARIO_DIR, generate, load_scenario
from seed.book_service import open_states
from seed.generate import TABLE_ORDER
from seed.workflows import FLOWS, sla_hours
from tests.conftest import act_as
from tests.test_scenarios import count, load, rows

START = datetime(2026, 3, 2, 1, 30)
ROSTER = [{"user_id": 10 + i, "username": f"stu{i:02d}", "class_id": 5} for i in range(3)]
SERVICE_TABLES = ("knowledge_articles", "campaigns", "campaign_members", "cases", "case_history")


def digest(rows_: dict) -> str:
    return hashlib.sha256(json.dumps(rows_, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@pytest.fixture(scope="module", params=["service-desk.yaml", "service-desk-en.yaml"])
def desk(request):
    s = load_scenario(SCENARIO_DIR / request.param)
    return s, generate(s, ROSTER, START, class_owner_id=1)


def test_both_languages_are_shipped_and_validate():
    zh, en = load_scenario(SCENARIO_DIR / "service-desk.yaml"), load_scenario(SCENARIO_DIR / "service-desk-en.yaml")
    assert (zh.language, en.language) == ("zh", "en")
    assert [o.id for o in zh.objectives] == [o.id for o in en.objectives]
    assert zh.cases.per_student.keys() == {"complaint", "suggestion", "info_flow", "visit_order", "feedback"}


def test_generation_is_deterministic_and_depends_on_the_seed(desk):
    s, first = desk
    assert digest(first) == digest(generate(s, ROSTER, START, class_owner_id=1))
    other = generate(s.model_copy(update={"seed": s.seed + 1}), ROSTER, START, class_owner_id=1)
    assert digest({t: other[t] for t in ("cases", "campaigns")}) != digest({t: first[t] for t in ("cases", "campaigns")})


def test_service_rows_never_change_the_sales_book(desk):
    s, with_service = desk
    plain = generate(s.model_copy(update={"campaigns": None, "cases": None, "knowledge": []}), ROSTER, START,
                     class_owner_id=1)
    sales = [t for t in TABLE_ORDER if t not in SERVICE_TABLES]
    assert digest({t: plain[t] for t in sales}) == digest({t: with_service[t] for t in sales})
    assert all(not plain[t] for t in SERVICE_TABLES)


def test_cases_stand_in_open_states_reached_by_allowed_moves(desk):
    s, out = desk
    history = defaultdict(list)
    for h in out["case_history"]:
        history[h["case_ref"]].append(h)
    per_student = Counter((c["owner_id"], c["workflow"]) for c in out["cases"])
    assert per_student == {(m["user_id"], w): n for m in ROSTER for w, n in s.cases.per_student.items()}
    for case in out["cases"]:
        flow = FLOWS[case["workflow"]]
        assert case["state"] in open_states(case["workflow"]), case
        steps = history[case["key"]]
        assert (steps[0]["from_state"], steps[0]["to_state"]) == (None, flow.initial)
        assert steps[0]["changed_at"] == case["created_at"]
        for a, b in zip(steps, steps[1:], strict=False):
            assert flow.allows(b["from_state"], b["to_state"]) and a["to_state"] == b["from_state"]
            assert a["changed_at"] < b["changed_at"] < START
        assert steps[-1]["to_state"] == case["state"] and case["updated_at"] == steps[-1]["changed_at"]
        received = [h["changed_at"] for h in steps if h["to_state"] == "received"]
        assert case["received_at"] == (received[0] if received else None)
        assert case["resolved_at"] is None and case["closed_at"] is None and case["satisfaction"] is None
        assert case["due_at"] == case["created_at"] + timedelta(hours=sla_hours(case["workflow"], case["level"]))
        assert (case["assignee_id"] is None) == (case["state"] == flow.initial)
        assert all(h["changed_by_id"] == case["owner_id"] for h in steps)
        if case["workflow"] == "complaint":
            assert case["level"] in s.cases.levels and case["channel"] in ("phone", "other")
            assert case["target"] in ("company", "call_centre")
        else:
            assert case["level"] is None and case["channel"] is None
        if case["workflow"] == "suggestion":
            assert 1 <= case["data"]["code_group"] <= 5
        if "investigated" in [h["to_state"] for h in steps]:
            assert case["data"]["investigation"]
        assert case["account_ref"].startswith(f"account:{_username(case['owner_id'])}:")


def _username(user_id: int) -> str:
    return next(m["username"] for m in ROSTER if m["user_id"] == user_id)


def test_campaign_members_come_from_the_students_own_leads_and_contacts(desk):
    s, out = desk
    campaigns = {c["key"]: c for c in out["campaigns"]}
    assert len(campaigns) == s.campaigns.per_student * len(ROSTER)
    seen = set()
    for m in out["campaign_members"]:
        campaign = campaigns[m["campaign_ref"]]
        member = m["lead_ref"] or m["contact_ref"]
        assert (m["lead_ref"] is None) != (m["contact_ref"] is None)
        assert f":{_username(campaign['owner_id'])}:" in member and m["added_by_id"] == campaign["owner_id"]
        assert (m["campaign_ref"], member) not in seen
        seen.add((m["campaign_ref"], member))
        assert (m["responded_at"] is not None) == (m["status"] == "responded")
        assert m["added_at"] < START
        if campaign["status"] == "planned":
            assert m["status"] == "planned"
    for c in campaigns.values():
        assert c["start_date"] <= c["end_date"] and c["created_at"] < START
        assert c["actual_cost"] is None or c["actual_cost"] <= c["budget"]
        assert c["status"] == ("planned" if c["start_date"] > START.date() else
                               "completed" if c["end_date"] < START.date() else "in_progress")
    members = Counter(m["campaign_ref"] for m in out["campaign_members"])
    low, high = s.campaigns.members
    assert all(low <= n <= high for n in members.values())


def test_knowledge_articles_are_the_classs_published_ones(desk):
    s, out = desk
    articles = out["knowledge_articles"]
    assert [a["title"] for a in articles] == [a.title for a in s.knowledge]
    assert all(a["owner_id"] == 1 and a["class_id"] == 5 and a["status"] == "published" and a["published_by_id"] == 1
               for a in articles)
    zh = any("\u4e00" <= ch <= "\u9fff" for ch in articles[0]["body"])
    assert zh == (s.language == "zh")


def test_a_loaded_desk_gives_every_student_open_cases_and_keeps_articles_on_a_one_student_reset(app, classroom):
    from sandbox.classroom.runs.services import reset_scenario, undo_reset

    load(classroom, name="service-desk")
    klass = classroom.classes["A"]
    student, peer = classroom.user("studentA"), classroom.user("peerA")
    assert count(Case, Case.owner_id == student.id) == 16
    assert count(Campaign, Campaign.owner_id == student.id) == 2
    articles = [a.id for a in rows(Article, Article.class_id == klass.id)]
    assert len(articles) == 5
    mine = [c.id for c in rows(Case, Case.owner_id == student.id)]
    history = count(CaseHistory, CaseHistory.case_id.in_(mine))
    assert history >= 15
    members = count(CampaignMember, CampaignMember.campaign_id.in_(
        select(Campaign.id).where(Campaign.owner_id == student.id)))
    peer_cases = [c.id for c in rows(Case, Case.owner_id == peer.id)]
    act_as(classroom.user("teacher"))
    reset_scenario(klass, student)
    db.session.commit()
    again = [c.id for c in rows(Case, Case.owner_id == student.id)]
    assert len(again) == 16 and not set(again) & set(mine)
    assert count(CaseHistory, CaseHistory.case_id.in_(mine)) == 0  # the history went with its cases
    assert count(CaseHistory, CaseHistory.case_id.in_(again)) == history  # the same book again
    assert [c.id for c in rows(Case, Case.owner_id == peer.id)] == peer_cases
    assert [a.id for a in rows(Article, Article.class_id == klass.id)] == articles  # the class's, kept
    assert count(CampaignMember, CampaignMember.campaign_id.in_(
        select(Campaign.id).where(Campaign.owner_id == student.id))) == members
    act_as(classroom.user("teacher"))
    undo_reset(klass)
    db.session.commit()
    assert sorted(c.id for c in rows(Case, Case.owner_id == student.id)) == sorted(mine)
    assert count(CaseHistory, CaseHistory.case_id.in_(mine)) == history


def test_the_contract_mirror_matches_the_shipped_workflow_files():
    """seed/workflows.py reads `workflows/*.yaml`, the engine's files: every shipped workflow, with its states."""
    folder = Path(__file__).resolve().parent.parent / "workflows"
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        pytest.skip("the workflow engine's definitions are not on this branch")
    import yaml

    assert {f.stem for f in files} >= set(FLOWS)
    for f in files:
        if f.stem not in FLOWS:
            continue
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        states = data.get("states")
        names = set(states) if isinstance(states, dict) else {s if isinstance(s, str) else s.get("key", s.get("name"))
                                                              for s in states or []}
        assert names == set(FLOWS[f.stem].states), f.name
