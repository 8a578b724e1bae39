"""`sandbox bench`, campaigns part: the campaign page and the ROI report over a class's campaigns.

Data (its own SQLite file, Core executemany): one class of 2 departments × 10 salespeople; each student has
10 campaigns; one campaign of the measured student has 5,000 members (leads and contacts in every response
status), 2,000 leads and 1,000 opportunities attributed to it; the class holds 100,000 leads, 20,000 contacts
and 40,000 opportunities in all, a quarter attributed to some campaign. Measured through the test client and
the whole request (session, viewer, visibility, SQL, template):

* the campaign's figures alone, `services.figures` as its owner (ORM statements through the visibility rule);
* the student's campaign page `GET /campaigns/<id>` (figures, funnel, the newest 300 members, forms);
* the instructor's `GET /reports/campaigns?report=roi&by=campaign` over the class's 200 campaigns.

Baseline, in the same run: ONE hand-written SQL query (`text()`) computing the same numbers without the
visibility rule (the member counts by status, leads, opportunities and won amount of the campaign; the ROI
GROUP BY of the class). ratio = sql ms ÷ measured ms, medians of interleaved rounds. The figures
are timed in a fresh request, as a page meets them: the code tables (member statuses, won stages, as the
viewer's class names them) are read first, and they dominate next to five indexed counts. The pages are mostly
rendering (the campaign page draws 300 member rows with a status picker each and three pickers of up to 500
records; the report formats 200 rows of money in the reader's locale). So the targets are the floors measured
here (figures ≥ 0.02, page ≥ 0.004, report ≥ 0.1), to catch a regression, not a promise of parity.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import insert, text
from werkzeug.security import generate_password_hash

from sandbox import create_app
from sandbox.campaigns.models import Campaign, CampaignMember
from sandbox.clock import utcnow
from sandbox.contacts.models import Contact
from sandbox.extensions import db
from sandbox.leads.models import Lead
from sandbox.opportunities.models import Opportunity
from sandbox.org.models import PositionKind, Role

from .data import PASSWORD, _Tree, bulk_connection, create_schema, insert_tree
from .pages import sign_in

# Floors measured on this machine, to catch a regression (see the module docstring).
TARGETS = {"figures": 0.02, "page": 0.004, "report": 0.1}
Say = Callable[[str], None]
STATUSES = ["planned", "sent", "received", "opened", "responded", "unsubscribed"]
STAGES = ["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"]
CAMPAIGNS_PER_STUDENT = 10

PAGE_SQL = """
SELECT (SELECT count(*) FROM campaign_members WHERE campaign_id = :c),
       (SELECT count(*) FROM campaign_members WHERE campaign_id = :c AND status = 'responded'),
       (SELECT count(*) FROM leads WHERE campaign_id = :c AND deleted_at IS NULL),
       (SELECT count(*) FROM opportunities WHERE campaign_id = :c AND deleted_at IS NULL),
       (SELECT coalesce(sum(amount), 0) FROM opportunities
         WHERE campaign_id = :c AND deleted_at IS NULL AND stage = 'closed_won')
"""
REPORT_SQL = """
SELECT t.id, (sum(w.won) - sum(t.actual_cost)) * 100.0 / nullif(sum(t.actual_cost), 0), sum(t.actual_cost),
       sum(w.won), count(t.id)
FROM campaigns t LEFT JOIN (SELECT campaign_id, sum(amount) AS won FROM opportunities
                            WHERE stage = 'closed_won' AND deleted_at IS NULL GROUP BY campaign_id) w
  ON w.campaign_id = t.id
WHERE t.class_id = :k AND t.deleted_at IS NULL GROUP BY t.id
"""


def _app(folder: Path) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'campaigns.db'}", "SECRET_KEY": "bench",
                       "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "UPLOAD_FOLDER": str(folder / "up")})


def _owned(owner: int, klass: int, at: Any) -> dict[str, Any]:
    return {"owner_id": owner, "class_id": klass, "created_by_id": owner, "created_at": at, "updated_at": at,
            "deleted_at": None, "version": 1}


def build(app: Flask, scale: int, say: Say) -> dict[str, Any]:
    """The class, its campaigns and the records attributed to them; returns the ids the bench needs."""
    rng = random.Random(20261203)
    tree = _Tree()
    pw = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    root = tree.position(None, PositionKind.ORGANIZATION, "Bench School", None)
    teacher = tree.position(root, PositionKind.TEACHER, "Teacher", None)
    klass = tree.position(teacher, PositionKind.CLASS, "Campaign class", None, join_code="CAMP1")
    tree.positions[-1]["class_id"] = klass
    tree.user("instructor", "Instructor", Role.INSTRUCTOR, klass, klass, pw)
    students = []
    for d in range(2):
        dept = tree.position(klass, PositionKind.DEPARTMENT, f"Department {d + 1}", klass)
        seat = tree.position(dept, PositionKind.POSITION, "Sales", klass)
        students += [tree.user(f"s{d}_{i}", f"Sales {d}.{i}", Role.STUDENT, seat, klass, pw) for i in range(10)]
    now = utcnow()
    measured_student = students[0]
    campaigns = [{**_owned(owner, klass, now), "id": n + 1, "name": f"Campaign {n + 1}", "status": "in_progress",
                  "type": "email", "budget": Decimal(5000), "actual_cost": Decimal(rng.randint(1, 20) * 500)}
                 for n, owner in enumerate(o for o in students for _ in range(CAMPAIGNS_PER_STUDENT))]
    measured = 1  # the measured student's first campaign
    owner_of = {c["id"]: c["owner_id"] for c in campaigns}
    n_leads, n_contacts, n_opps = 100_000 // scale, 20_000 // scale, 40_000 // scale
    member_leads, member_contacts = 4_000 // scale, 1_000 // scale  # the measured campaign's 5,000 members
    campaign_leads, campaign_opps = 2_000 // scale, 1_000 // scale  # attributed to the measured campaign
    leads, contacts, opps, members = [], [], [], []

    def elsewhere() -> tuple[int, int | None]:
        """Another student's record; a quarter of them attributed to one of the class's campaigns."""
        campaign = rng.randint(2, len(campaigns)) if rng.random() < 0.25 else None
        return (owner_of[campaign] if campaign else rng.choice(students[1:])), campaign

    for i in range(1, n_leads + 1):
        owner, campaign = (measured_student, measured if i <= campaign_leads else None) if i <= member_leads \
            else elsewhere()
        leads.append({**_owned(owner, klass, now), "id": i, "name": f"Lead {i}", "status": "new",
                      "campaign_id": campaign})
    for i in range(1, n_contacts + 1):
        owner = measured_student if i <= member_contacts else rng.choice(students[1:])
        contacts.append({**_owned(owner, klass, now), "id": i, "name": f"Contact {i}"})
    for i in range(1, n_opps + 1):
        owner, campaign = (measured_student, measured) if i <= campaign_opps else elsewhere()
        opps.append({**_owned(owner, klass, now), "id": i, "name": f"Deal {i}", "stage": rng.choice(STAGES),
                     "probability": 50, "amount": Decimal(rng.randint(1, 100) * 100), "campaign_id": campaign,
                     "close_date": date(2030, 1, 1) + timedelta(days=i % 300)})
    for n in range(member_leads + member_contacts):
        person = {"lead_id": n + 1, "contact_id": None} if n < member_leads else \
            {"lead_id": None, "contact_id": n - member_leads + 1}
        members.append({"id": n + 1, "campaign_id": measured, "status": STATUSES[n % len(STATUSES)],
                        "added_by_id": measured_student, "added_at": now, **person})
    for n, campaign in enumerate(campaigns[1:], start=1):  # five members in every other campaign
        for j in range(5):
            members.append({"id": len(members) + 1, "campaign_id": campaign["id"], "status": STATUSES[j],
                            "added_by_id": campaign["owner_id"], "added_at": now, "contact_id": None,
                            "lead_id": n_leads - n * 5 - j})  # distinct leads from the end of the list
    with app.app_context(), bulk_connection() as conn:
        insert_tree(conn, tree)
        for table, rows in ((Campaign.__table__, campaigns), (Lead.__table__, leads), (Contact.__table__, contacts),
                            (Opportunity.__table__, opps), (CampaignMember.__table__, members)):
            for start in range(0, len(rows), 20_000):
                conn.execute(insert(table), rows[start:start + 20_000])
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    with app.app_context():
        db.engine.dispose()
    say(f"{len(campaigns)} campaigns, {len(leads):,} leads, {len(contacts):,} contacts, {len(opps):,} opportunities,"
        f" {len(members):,} members")
    return {"klass": klass, "campaign": measured, "members": member_leads + member_contacts, "campaigns": len(campaigns),
            "student": "s0_0"}


def _time_page(client: Any, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return elapsed


def _time_sql(app: Flask, sql: str, params: dict[str, Any]) -> float:
    with app.app_context():
        start = time.perf_counter()
        db.session.execute(text(sql), params).all()
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed


def _time_figures(app: Flask, username: str, campaign_id: int) -> float:
    """Seconds of `services.figures` (ORM statements through the visibility rule) for the campaign's owner."""
    from sqlalchemy import select

    from sandbox import access
    from sandbox.campaigns import services
    from sandbox.org.models import User

    with app.test_request_context("/"):
        access.use_viewer(access.SYSTEM)
        user = db.session.scalar(select(User).where(User.username == username))
        campaign = db.session.get(Campaign, campaign_id)
        access.use_viewer(access.viewer_for(user))
        start = time.perf_counter()
        services.figures(campaign)
        elapsed = time.perf_counter() - start
        db.session.remove()
    return elapsed


def run(measure: Any, quick: bool, say: Say) -> tuple[list[Any], str]:
    """Build the data in a temporary database, time the campaign page and the ROI report; (measures, table)."""
    scale = 10 if quick else 1  # a divisor: full is 100,000 leads and 5,000 members in the measured campaign
    rounds, warmup = (3, 1) if quick else (15, 3)
    measures, lines = [], []
    with tempfile.TemporaryDirectory(prefix="sandbox-bench-campaigns-") as folder:
        app = _app(Path(folder))
        create_schema(app)
        started = time.perf_counter()
        facts = build(app, scale, lambda msg: say(f"bench: campaigns: {msg}"))
        built = time.perf_counter() - started
        cases = {
            "figures": (facts["student"], "services.figures(campaign)", PAGE_SQL, {"c": facts["campaign"]}),
            "page": (facts["student"], f"/campaigns/{facts['campaign']}", PAGE_SQL, {"c": facts["campaign"]}),
            "report": ("instructor", "/reports/campaigns?report=roi&by=campaign", REPORT_SQL, {"k": facts["klass"]}),
        }
        for key, (username, url, sql, params) in cases.items():
            client = sign_in(app, username)
            timed = (lambda: _time_figures(app, username, facts["campaign"])) if key == "figures" else \
                (lambda: _time_page(client, url))  # noqa: B023  (called within this iteration only)
            for _ in range(warmup):
                timed()
                _time_sql(app, sql, params)
            page_times, sql_times = [], []
            for _ in range(rounds):  # interleaved, so both see the same cache and machine load
                page_times.append(timed())
                sql_times.append(_time_sql(app, sql, params))
            page_ms, sql_ms = statistics.median(page_times) * 1000, statistics.median(sql_times) * 1000
            ratio = sql_ms / page_ms
            measures.append(measure(f"campaigns.{key}", round(page_ms, 3), "ms", round(sql_ms, 3), round(ratio, 3)))
            lines.append(f"{key:<10}{url:<48}{page_ms:>10.2f}{sql_ms:>10.2f}{ratio:>8.2f}  target ≥ {TARGETS[key]}"
                         f"  {'ok' if ratio >= TARGETS[key] else 'BELOW'}")
        with app.app_context():
            db.engine.dispose()
    head = [
        f"campaigns: {facts['campaigns']} campaigns in one class · the measured one has {facts['members']:,} members"
        f" · data built in {built:.1f} s · median of {rounds} requests each",
        "ratio = hand-written SQL of the same numbers ÷ page (the page: visibility, labels, funnel, template)",
        "",
        f"{'what':<10}{'url':<48}{'page ms':>10}{'sql ms':>10}{'ratio':>8}",
    ]
    return measures, "\n".join(head + lines)
