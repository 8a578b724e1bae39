"""Marketing and service rows: a student's campaigns with members and open cases with their history, and
the class's knowledge articles.

A student's service rows are drawn after the sales book is complete (names and times from their own
stream, seeded from the scenario seed and the username), so adding campaigns or cases to a scenario
never changes the accounts, leads and opportunities it already generated. Cases follow the workflow contract (seed/workflows.py):
each stands in an open state reached from the initial one by allowed moves, with one `case_history` row
per move (the first, from nothing into the initial state, is the creation), the timestamps those states
set (received_at) and the SLA deadline its workflow and level give. Nothing here is a resolved case, so
nothing generated meets a `case_resolved` objective.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .dice import Dice
from .workflows import FLOWS, sla_hours, walk

if TYPE_CHECKING:
    from .book import Book
    from .schema import Scenario

CENT = Decimal("0.01")

# Subjects per workflow and language; {account} is the customer's short name.
SUBJECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "feedback": ("{account}反馈：营业厅排队时间过长", "{account}反馈：希望增加网上缴费方式", "{account}反馈：账单寄送延迟",
                     "{account}反馈：客服电话难以接通"),
        "service_request": ("{account}申请：开通新用气点", "{account}申请：变更户名", "{account}申请：安装报警器",
                            "{account}申请：更换计量表"),
        "complaint": ("{account}投诉：抄表读数与实际不符", "{account}投诉：维修人员未按约定时间上门",
                      "{account}投诉：停气未提前通知", "{account}投诉：收费标准有异议", "{account}投诉：服务人员态度差"),
        "suggestion": ("{account}建议：开通微信报修", "{account}建议：延长营业厅周末开放时间", "{account}建议：账单增加用量对比",
                       "{account}建议：安检前短信提醒"),
        "info_flow": ("{account}来电：询问阶梯价格", "{account}来电：咨询过户手续", "{account}来电：查询欠费明细",
                      "{account}来电：咨询安检时间"),
        "visit_order": ("拜访{account}：年度用气计划沟通", "拜访{account}：安全用气检查", "拜访{account}：合同续签",
                        "拜访{account}：新项目需求了解"),
        "repair_order": ("{account}报修：燃气表不走字", "{account}报修：管道接口漏气", "{account}报修：热水器无法点火",
                         "{account}报修：调压器异响"),
    },
    "en": {
        "feedback": ("{account}: long queues at the service hall", "{account}: asks for online bill payment",
                     "{account}: bills arrive late", "{account}: hotline hard to reach"),
        "service_request": ("{account}: new connection requested", "{account}: change of account holder",
                            "{account}: alarm installation requested", "{account}: meter replacement requested"),
        "complaint": ("{account}: meter reading disputed", "{account}: technician missed the appointment",
                      "{account}: supply cut without notice", "{account}: tariff charged questioned",
                      "{account}: rude service staff"),
        "suggestion": ("{account}: repairs reported by app", "{account}: longer weekend opening hours",
                       "{account}: usage comparison on the bill", "{account}: text reminder before inspections"),
        "info_flow": ("{account} called: tiered prices", "{account} called: transfer of ownership",
                      "{account} called: outstanding balance", "{account} called: inspection dates"),
        "visit_order": ("Visit {account}: annual consumption plan", "Visit {account}: safety inspection",
                        "Visit {account}: contract renewal", "Visit {account}: needs of a new project"),
        "repair_order": ("{account}: meter not counting", "{account}: leaking pipe joint",
                         "{account}: water heater will not ignite", "{account}: noisy pressure regulator"),
    },
}
# What a move into a state records (the fields the contract requires there), per language.
NOTES: dict[str, dict[str, str]] = {
    "zh": {"investigation": "已调取抄表记录并与客户核对，正在等待现场复核。", "technician": "王师傅",
           "solution": "已更换密封圈并试压合格。", "reply": "已电话答复客户。"},
    "en": {"investigation": "Meter records pulled and checked with the customer; an on-site check is pending.",
           "technician": "Sam Wong", "solution": "Seal replaced and pressure-tested.", "reply": "Answered by phone."},
}
STATE_FIELDS = {"investigated": "investigation", "dispatched": "technician", "completed": "solution",
                "replied": "reply"}
CAMPAIGNS = {
    "zh": ("{season}客户答谢会", "{season}新品推介会", "{season}老客户电话回访", "{season}邮件营销", "{season}展会邀约",
           "{season}安全用气宣传周"),
    "en": ("{season} customer appreciation event", "{season} product launch", "{season} call-back of key customers",
           "{season} e-mail campaign", "{season} trade show invitations", "{season} safety awareness week"),
}
SEASONS = {"zh": ("春季", "夏季", "秋季", "冬季"), "en": ("Spring", "Summer", "Autumn", "Winter")}
AUDIENCE = {"zh": "现有客户及近三个月的新线索", "en": "Existing customers and leads of the last three months"}


def service_seed(scenario_seed: int, username: str) -> int:
    """The random seed of a student's service rows (apart from the sales book's)."""
    from .generate import stable_seed

    return stable_seed(scenario_seed, "service", username)


def knowledge_rows(s: Scenario, owner: int | None, class_id: int | None, at: datetime) -> list[dict[str, Any]]:
    """The class's published articles, as the scenario writes them (owned like the catalogue)."""
    rows = []
    for n, article in enumerate(s.knowledge, start=1):
        rows.append({"key": f"article:{n}", "owner_id": owner, "class_id": class_id, "created_by_id": owner,
                     "created_at": at, "updated_at": at, "deleted_at": None, "version": 1,
                     "title": article.title, "category": article.category, "keywords": article.keywords,
                     "body": article.body, "status": "published", "published_at": at, "published_by_id": owner})
    return rows


def open_states(key: str) -> list[str]:
    """The states a generated case may stand in: neither resolved nor closed."""
    flow = FLOWS[key]
    return [s for s in flow.states if s not in flow.closing and s not in flow.resolving]


def add_service(book: Book) -> None:
    """Append the student's campaigns (with members) and open cases (with their history)."""
    s = book.s.scenario
    if s.campaigns is None and s.cases is None:
        return
    rng = Dice(service_seed(s.seed, book.username))
    if s.campaigns is not None:
        for n in range(1, s.campaigns.per_student + 1):
            _campaign(book, rng, n)
    if s.cases is not None:
        for workflow, count in s.cases.per_student.items():
            for n in range(1, count + 1):
                _case(book, rng, workflow, n)


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, -2))).quantize(CENT)


def _campaign(book: Book, rng: Dice, n: int) -> None:
    s, lang, now = book.s.scenario, book.s.scenario.language, book.s.now
    assert s.campaigns is not None
    start = now.date() - timedelta(days=rng.int(-20, 120))
    end = start + timedelta(days=rng.int(7, 60))
    status = "planned" if start > now.date() else "completed" if end < now.date() else "in_progress"
    low, high = s.campaigns.actual_cost
    cost = _money(rng.uniform(low, high)) if status != "planned" else None
    budget = _money((float(cost) if cost else rng.uniform(low, high)) * rng.uniform(1.0, 1.4))
    key = f"campaign:{book.username}:{n}"
    row = book.owned(key, book.past(30, 1) if status == "planned" else _before(start, now, rng))
    name = rng.choice(CAMPAIGNS[lang]).format(season=SEASONS[lang][(start.month - 1) // 3 % 4])
    row.update(name=f"{start.year} {name}" if lang == "en" else f"{start.year}年{name}",
               type=book.pick("campaign_type"), status=status, start_date=start, end_date=end, budget=budget,
               expected_revenue=_money(float(budget) * rng.uniform(3, 8)), actual_cost=cost,
               expected_response=rng.int(5, 30), audience=AUDIENCE[lang], description=None)
    book.rows["campaigns"].append(row)
    pool = [("lead_ref", k) for k, _name, _company in book.leads] + \
        [("contact_ref", ck) for a in book.accounts for ck, _name in a.contacts]
    m_low, m_high = s.campaigns.members
    chosen = rng.sample(pool, min(len(pool), rng.int(m_low, m_high)))
    statuses = book.s.codes.get("member_status") or ["planned"]
    for ref, member_key in chosen:
        # A planned campaign has only invited members; a running or finished one has answers.
        status_code = "planned" if status == "planned" and "planned" in statuses else rng.choice(statuses)
        added = min(row["created_at"] + timedelta(hours=rng.int(1, 72)), now - timedelta(minutes=5))
        responded = status_code == "responded"
        book.rows["campaign_members"].append({
            "campaign_ref": key, "lead_ref": member_key if ref == "lead_ref" else None,
            "contact_ref": member_key if ref == "contact_ref" else None, "status": status_code,
            "added_by_id": book.user, "added_at": added,
            "responded_at": min(added + timedelta(days=rng.int(1, 10)), now - timedelta(minutes=1)) if responded else None})


def _before(start: date, now: datetime, rng: Dice) -> datetime:
    """A creation time a few days before a campaign's start (and before the run)."""
    at = datetime(start.year, start.month, start.day, 2) - timedelta(days=rng.int(3, 20))
    return min(at, now - timedelta(hours=1))


def _case(book: Book, rng: Dice, workflow: str, n: int) -> None:
    flow, lang, now = FLOWS[workflow], book.s.scenario.language, book.s.now
    states = open_states(workflow)
    # Earlier states are likelier: most open tickets wait near the start of their workflow.
    state = rng.weighted(states, _cumulative(len(states)))
    path = walk(flow, state)
    created = now - timedelta(hours=rng.int(6, 24 * 20), minutes=rng.int(0, 59))
    account = rng.choice(book.accounts) if book.accounts else None
    contact = account.contacts[0][0] if account and account.contacts else None
    words = account.firm.short if account else book.s.names.firm(rng, book.vocab.SEGMENTS[0][1]).short
    key = f"case:{book.username}:{workflow}:{n}"
    level = rng.choice(book.s.scenario.cases.levels) if workflow == "complaint" and book.s.scenario.cases else None
    row = book.owned(key, created)
    data: dict[str, Any] = {}
    if workflow == "suggestion":
        data["code_group"] = rng.int(1, 5)
    history = [{"case_ref": key, "from_state": None, "to_state": flow.initial, "changed_by_id": book.user,
                "changed_at": created, "values": None}]
    at, received = created, None
    for source, target in zip(path, path[1:], strict=False):
        room = max(60, int((now - at).total_seconds() / 2))
        at = at + timedelta(seconds=rng.int(60, min(room, 36 * 3600)))
        values = None
        if target in STATE_FIELDS:
            values = {STATE_FIELDS[target]: NOTES[lang][STATE_FIELDS[target]]}
            data.update(values)
        if target == "received":
            received = at
        history.append({"case_ref": key, "from_state": source, "to_state": target, "changed_by_id": book.user,
                        "changed_at": at, "values": values})
    row.update(updated_at=at, workflow=workflow,
               subject=rng.choice(SUBJECTS[lang][workflow]).format(account=words)[:200], description=None,
               state=state, priority=book.pick("case_priority"), account_ref=account.key if account else None,
               contact_ref=contact, assignee_id=book.user if state != flow.initial else None, supervisor_id=None,
               level=level, channel=book.pick("case_channel") if workflow == "complaint" else None,
               target=book.pick("case_target") if workflow == "complaint" else None, data=data or None, stamps=None,
               received_at=received, resolved_at=None, closed_at=None,
               due_at=created + timedelta(hours=sla_hours(workflow, level)), satisfaction=None, solved_by_id=None)
    book.rows["cases"].append(row)
    book.rows["case_history"].extend(history)


def _cumulative(n: int) -> list[float]:
    total, out = 0.0, []
    for i in range(n):
        total += n - i
        out.append(total)
    return out
