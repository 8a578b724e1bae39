"""`sandbox bench`, second part: account, contact and opportunity lists and the opportunity page.

Data: `records` accounts, contacts and opportunities (100,000 each at full size), all in class 1, spread
over its 336 students (about 300 each), so its instructor sees every one of them and a student owns ~300.
One more opportunity of the measured student carries 20 product lines, 5 contact roles, 3 competitors and
50 related activities (25 open tasks, 25 events).

Baselines are captured from the real view: one real request runs with `render_template` of the record
views wrapped, so the exact context it built (rows, total, owner choices, detail rows and forms) is kept,
with the reference labels it loaded and the activities panel; the session closes at the end of the
request and those objects stay in memory, detached. The bare page renders the same template from them.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from unittest import mock

from faker import Faker
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import insert, select

import sandbox.records.views as record_views
from sandbox.accounts.models import Account
from sandbox.activities.models import Activity
from sandbox.activities.services import activities_for
from sandbox.clock import utcnow
from sandbox.competitors.models import Competitor
from sandbox.contacts.models import Contact
from sandbox.extensions import db
from sandbox.opportunities.models import Opportunity, StageHistory
from sandbox.opportunities.related_models import OpportunityCompetitor, OpportunityContactRole, OpportunityLine
from sandbox.org.models import Role, User
from sandbox.products.models import Product

from .pages import TARGET, paired_medians, query_plans, timed_get
from .routes import set_detail_baseline, set_list_baseline

FULL_RECORDS = 100_000
QUICK_RECORDS = 5_000
BATCH = 50_000
DAYS = 540
DELETED_SHARE = 0.02
STUDENT = "student1_1_1"
INSTRUCTOR = "instructor1"
LISTS = ("accounts", "contacts", "opportunities")
DETAIL = {"lines": 20, "roles": 5, "competitors": 3, "activities": 50}


@dataclass
class Facts:
    """What a measured page shows, for the readable table."""

    url: str
    shown: str
    plans: list[str]


Say = Callable[[str], None]


def _owned(i: int, owner: int, klass: int, created: Any, deleted: Any = None) -> dict[str, Any]:
    return {"id": i, "owner_id": owner, "class_id": klass, "created_by_id": owner, "created_at": created,
            "updated_at": created, "deleted_at": deleted, "version": 1}


def build(app: Flask, records: int, seed: int = 20241101, say: Say | None = None) -> tuple[int, float]:
    """Insert the records (Core executemany, one transaction), then ANALYZE; returns (opportunity id, seconds)."""
    say = say or (lambda _m: None)
    start = time.perf_counter()
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    companies = [fake.company() for _ in range(1000)]
    names = [fake.name() for _ in range(2000)]
    titles = [fake.job() for _ in range(200)]
    now = utcnow()
    span = DAYS * 86_400
    with app.app_context():
        klass, student = db.session.execute(
            select(User.class_id, User.id).where(User.username == STUDENT)).one()
        owners = list(db.session.scalars(
            select(User.id).where(User.class_id == klass, User.role == Role.STUDENT).order_by(User.id)))
        db.session.remove()

        def times() -> list[Any]:
            # Ids grow with time; recent days denser, as in data.py.
            return [now - timedelta(seconds=a) for a in sorted((rng.random() ** 2 * span for _ in range(records)),
                                                               reverse=True)]

        def deleted(created: Any) -> Any:
            return min(created + timedelta(days=rng.random() * 30), now) if rng.random() < DELETED_SHARE else None

        def rows(kind: str) -> list[dict[str, Any]]:
            out = []
            for i, created in enumerate(times(), start=1):
                owner = owners[i % len(owners)]  # round robin: ~records / 336 each
                row = _owned(i, owner, klass, created, deleted(created))
                if kind == "accounts":
                    row.update(name=f"{rng.choice(companies)} {i}", type=rng.choice(["customer", "partner", "prospect"]),
                               industry=rng.choice(["it", "retail", "finance", "education"]),
                               level=rng.choice(["gold", "silver", "normal"]),
                               phone=f"0{rng.randint(10, 99)}-{rng.randint(0, 10**8 - 1):08d}")
                elif kind == "contacts":
                    row.update(name=rng.choice(names), account_id=rng.randint(1, records), title=rng.choice(titles),
                               phone=f"1{rng.randint(30, 99)}{rng.randint(0, 10**8 - 1):08d}",
                               email=f"contact{i}@bench.example.cn", contact_method=rng.choice(["phone", "email"]))
                else:
                    stage = rng.choice(["prospecting", "qualification", "proposal", "negotiation"])
                    row.update(name=f"{rng.choice(companies)} 项目 {i}", account_id=rng.randint(1, records),
                               type="new_business", stage=stage, probability=rng.choice([10, 20, 50, 70]),
                               amount=Decimal(rng.randint(1_000, 5_000_000)),
                               close_date=(created + timedelta(days=rng.randint(10, 200))).date())
                out.append(row)
            return out

        # Leaving WAL needs the only connection: the pages measured before (and their lazy notification scans,
        # which use a session of their own) may have left idle connections in the pool.
        db.engine.dispose()
        with db.engine.connect() as conn:
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144", "foreign_keys=OFF"):
                conn.exec_driver_sql(f"PRAGMA {pragma}")
            conn.commit()
            with conn.begin():
                for kind, model in (("accounts", Account), ("contacts", Contact), ("opportunities", Opportunity)):
                    data = rows(kind)
                    for b in range(0, len(data), BATCH):
                        conn.execute(insert(model.__table__), data[b:b + BATCH])
                    say(f"{kind}: {len(data):,}")
                opp_id = _detail_rows(conn, records, klass, student, now)
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        db.engine.dispose()
    return opp_id, time.perf_counter() - start


def _detail_rows(conn: Any, records: int, klass: int, student: int, now: Any) -> int:
    """The measured opportunity of the student, with its lines, contact roles, competitors and activities."""
    own_account = conn.execute(select(Account.id).where(Account.owner_id == student, Account.deleted_at.is_(None))
                               .order_by(Account.id).limit(1)).scalar_one()
    opp_id = records + 1
    conn.execute(insert(Opportunity.__table__), [{
        **_owned(opp_id, student, klass, now), "name": "Bench 大项目", "account_id": own_account, "type": "new_business",
        "stage": "proposal", "probability": 50, "amount": Decimal("0"), "close_date": (now + timedelta(days=60)).date(),
        "next_step": "报价", "description": "The opportunity page of the benchmark."}])
    conn.execute(insert(StageHistory.__table__), [{"opportunity_id": opp_id, "from_stage": None,
                                                   "to_stage": "proposal", "changed_by_id": student,
                                                   "changed_at": now}])
    conn.execute(insert(Product.__table__), [{
        **_owned(p, student, klass, now), "code": f"P{p:03d}", "name": f"产品 {p}", "unit": "件",
        "list_price": Decimal(100 * p), "active": True, "stock_on_hand": 10, "reorder_level": 0}
        for p in range(1, 31)])
    conn.execute(insert(OpportunityLine.__table__), [{
        "opportunity_id": opp_id, "product_id": p, "quantity": Decimal(p), "unit_price": Decimal(100 * p),
        "discount": Decimal("5"), "total": Decimal(p * 100 * p * 95) / 100, "created_at": now}
        for p in range(1, DETAIL["lines"] + 1)])
    # Contacts the student owns (round robin in build: ids ≡ the student's position among the owners).
    contacts = [conn.execute(select(Contact.id).where(Contact.owner_id == student).order_by(Contact.id)
                             .offset(k).limit(1)).scalar_one() for k in range(DETAIL["roles"])]
    conn.execute(insert(OpportunityContactRole.__table__), [{
        "opportunity_id": opp_id, "contact_id": c, "role": "decision_maker" if k == 0 else "influencer",
        "is_primary": k == 0, "created_at": now} for k, c in enumerate(contacts)])
    conn.execute(insert(Competitor.__table__), [{
        **_owned(c, student, klass, now), "name": f"竞争对手 {c}", "threat_level": "high"} for c in range(1, 11)])
    conn.execute(insert(OpportunityCompetitor.__table__), [{
        "opportunity_id": opp_id, "competitor_id": c, "note": f"对手 {c}", "created_at": now}
        for c in range(1, DETAIL["competitors"] + 1)])
    acts = []
    for a in range(1, DETAIL["activities"] + 1):
        task = a % 2 == 0
        acts.append({
            **_owned(a, student, klass, now - timedelta(hours=a)), "kind": "task" if task else "event",
            "subject": f"跟进 {a}", "related_type": "opportunity", "related_id": opp_id,
            "due_date": (now + timedelta(days=a)).date() if task else None, "status": "not_started" if task else None,
            "priority": "normal" if task else None, "event_type": None if task else "meeting",
            "start_at": None if task else now - timedelta(days=a), "end_at": None if task else now - timedelta(days=a),
            "location": None if task else "会议室"})
    conn.execute(insert(Activity.__table__), acts)
    return opp_id


def capture(client: FlaskClient, url: str) -> dict[str, Any]:
    """One real request whose record-view render is wrapped: the context it built, its labels and activities."""
    real = record_views.render_template
    captured: dict[str, Any] = {}

    def grab(template: str, **context: Any) -> str:
        html = real(template, **context)  # renders for real: every lazy attribute is loaded now
        captured.update(template=template, context=context, labels=dict(g.get("reference_labels", {})))
        if "obj" in context:
            captured["activities"] = activities_for(context["obj"])
        return html

    with mock.patch.object(record_views, "render_template", grab):
        timed_get(client, url)
    if "context" not in captured:
        raise RuntimeError(f"GET {url} did not render through the record views")
    return captured


def _main(html: str) -> str:
    found = re.search(r"<main.*?</main>", html, re.S)
    main = found.group(0) if found else html
    # CSRF tokens are signed with a timestamp: two renders a second apart differ only there.
    return re.sub(r'<input[^>]*name="csrf_token"[^>]*>', "", main)


def check_same(client: FlaskClient, real_url: str, base_url: str) -> None:
    """The bare page must show exactly what the real page shows, or the ratio means nothing."""
    # The bare list's own sort and page links point at itself.
    bare = _main(timed_get(client, base_url)[1]).replace(base_url, real_url)
    if _main(timed_get(client, real_url)[1]) != bare:
        raise RuntimeError(f"the baseline {base_url} does not render the same page as {real_url}")


def plans(app: Flask, client: FlaskClient, url: str) -> list[str]:
    """EXPLAIN QUERY PLAN of every statement one real request runs."""
    return query_plans(app, client, url, lambda statement: statement.lstrip().upper().startswith("SELECT"))


def run(app: Flask, sign_in: Callable[[Flask, str], FlaskClient], measure_cls: Any, quick: bool, rounds: int,
        warmup: int, verbose: bool, say: Say) -> tuple[list[tuple[Any, Facts]], str]:
    """Build the data, measure the three lists per viewer and the opportunity page; returns results and a table."""
    records = QUICK_RECORDS if quick else FULL_RECORDS
    say(f"generating {records:,} accounts, contacts and opportunities …")
    opp_id, seconds = build(app, records, say=say)
    say(f"records ready in {seconds:.1f} s")
    results: list[tuple[Any, Facts]] = []

    def measure(name: str, client: FlaskClient, user_id: int, real_url: str, base_url: str, key: str) -> None:
        captured = capture(client, real_url)
        if key == "list":
            set_list_baseline(app, name.split("_")[0], user_id, captured["context"], captured["labels"])
            context = captured["context"]
            cap = app.config["LIST_COUNT_CAP"]
            total = f"{cap:,}+" if context["total"] > cap else f"{context['total']:,}"  # as the page shows it
            shown = f"{len(context['rows'])} of {total}"
        else:
            set_detail_baseline(app, "opportunity", user_id, captured["template"], captured["context"],
                                captured["labels"], captured["activities"])
            items = captured["context"]["items"]
            shown = (f"{len(items['lines'])} lines, {len(items['roles'])} roles, {len(items['competitors'])} comp., "
                     f"{sum(len(captured['activities'][k]) for k in ('tasks', 'events'))} act.")
        check_same(client, real_url, base_url)
        value, baseline = paired_medians(client, real_url, base_url, rounds, warmup)
        facts = Facts(real_url, shown, plans(app, client, real_url) if verbose else [])
        results.append((measure_cls(name, round(value, 3), "ms", round(baseline, 3), round(baseline / value, 3)),
                        facts))

    with app.app_context():
        ids = {u: i for u, i in db.session.execute(
            select(User.username, User.id).where(User.username.in_([STUDENT, INSTRUCTOR])))}
        db.session.remove()
    for viewer, username in (("instructor", INSTRUCTOR), ("student", STUDENT)):
        client = sign_in(app, username)
        for blueprint in LISTS:
            say(f"measuring /{blueprint}/ as the {viewer} …")
            measure(f"{blueprint}_list_{viewer}", client, ids[username], f"/{blueprint}/",
                    f"/bench/{blueprint}/", "list")
    say("measuring the opportunity page …")
    measure("opportunity_detail", sign_in(app, STUDENT), ids[STUDENT], f"/opportunities/{opp_id}",
            "/bench/detail/opportunity", "detail")
    return results, _table(records, seconds, rounds, results, verbose)


def _table(records: int, seconds: float, rounds: int, results: list[tuple[Any, Facts]], verbose: bool) -> str:
    lines = [
        f"account / contact / opportunity lists · {records:,} of each in class 1 ({INSTRUCTOR} sees all,"
        f" {STUDENT} owns ~{records // 336:,}) · opportunity page: {DETAIL['lines']} lines, {DETAIL['roles']} contact"
        f" roles, {DETAIL['competitors']} competitors, {DETAIL['activities']} activities · built in {seconds:.1f} s"
        f" · median of {rounds}",
        "",
        f"{'measure':<32}{'shown':>40}{'page ms':>10}{'baseline ms':>13}{'ratio':>8}  target ≥ {TARGET}",
    ]
    for m, facts in results:
        verdict = "ok" if m.ratio >= TARGET else "BELOW"
        lines.append(f"{m.name:<32}{facts.shown:>40}{m.value:>10.2f}{m.baseline:>13.2f}{m.ratio:>8.2f}  {verdict}")
    if verbose:
        for m, facts in results:
            lines += ["", f"query plans for {m.name} ({facts.url}):", *facts.plans]
    return "\n".join(lines)
