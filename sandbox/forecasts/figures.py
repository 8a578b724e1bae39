"""A quarter's forecast figures per salesperson, and the roll-up of a manager's or instructor's team.

Every figure is one aggregate ORM query over `Opportunity` (and one over `Quota`), so the visibility rule
of access.py applies: a viewer's totals are made only of the opportunities their own lists show.

Figures of one person and quarter (opportunities whose close date lies in the quarter):

* closed won: the won ones;
* commit (预期总收入): closed won + the open ones in the commit category;
* best case (最佳总收入): commit + the open ones in the best-case category;
* pipeline: the open ones in the pipeline category (omitted ones count nowhere);
* quota %: closed won ÷ quota; remaining: what closed won still lacks to reach the quota (never below 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from ..access import Viewer
from ..extensions import db
from ..fiscal import Quarter
from ..opportunities.models import Opportunity
from ..org.models import Position, Role, Status, User
from .categories import BEST_CASE, CLOSED, COMMIT, PIPELINE, category_expression
from .models import Quota

ZERO = Decimal("0.00")


@dataclass
class Figures:
    """One salesperson's (or a team's) forecast for one quarter."""

    quota: Decimal | None = None
    closed_won: Decimal = ZERO
    commit_open: Decimal = ZERO
    best_case_open: Decimal = ZERO
    pipeline: Decimal = ZERO
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def commit(self) -> Decimal:
        """预期总收入: closed won plus the open commit opportunities."""
        return self.closed_won + self.commit_open

    @property
    def best_case(self) -> Decimal:
        """最佳总收入: commit plus the open best-case opportunities."""
        return self.commit + self.best_case_open

    @property
    def quota_percent(self) -> float | None:
        """Closed won as a percentage of the quota (None without a positive quota)."""
        if not self.quota:
            return None
        return float(self.closed_won * 100 / self.quota)

    @property
    def remaining(self) -> Decimal | None:
        """What closed won still lacks to reach the quota (0 once reached; None without a quota)."""
        if self.quota is None:
            return None
        return max(ZERO, self.quota - self.closed_won)

    def add(self, other: Figures) -> None:
        """Add another person's figures (a team's total)."""
        if other.quota is not None:
            self.quota = (self.quota or ZERO) + other.quota
        self.closed_won += other.closed_won
        self.commit_open += other.commit_open
        self.best_case_open += other.best_case_open
        self.pipeline += other.pipeline
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n


def in_quarter(model: Any, quarter: Quarter) -> list[Any]:
    """SQL: the opportunity closes in the quarter (half-open on the day after its last day)."""
    return [model.close_date >= quarter.first_day, model.close_date < quarter.end]


def figures_by_owner(owner_ids: list[int], quarter: Quarter) -> dict[int, Figures]:
    """The figures of each owner (all of them, zeros included) for the quarter, as the viewer may see them."""
    result = {owner: Figures() for owner in owner_ids}
    if not owner_ids:
        return result
    category = category_expression(Opportunity).label("category")
    rows = db.session.execute(
        select(Opportunity.owner_id, category, func.coalesce(func.sum(Opportunity.amount), 0), func.count())
        .where(Opportunity.owner_id.in_(owner_ids), *in_quarter(Opportunity, quarter))
        .group_by(Opportunity.owner_id, category)
    ).all()
    slot = {CLOSED: "closed_won", COMMIT: "commit_open", BEST_CASE: "best_case_open", PIPELINE: "pipeline"}
    for owner, kind, amount, count in rows:
        figures = result[owner]
        figures.counts[kind] = count
        if kind in slot:
            setattr(figures, slot[kind], Decimal(amount).quantize(Decimal("0.01")))
    quotas = db.session.execute(
        select(Quota.owner_id, Quota.amount).where(
            Quota.owner_id.in_(owner_ids), Quota.fiscal_year == quarter.year, Quota.quarter == quarter.quarter)
    ).all()
    for owner, amount in quotas:
        result[owner].quota = Decimal(amount).quantize(Decimal("0.01"))
    return result


def opportunity_lines(owner_id: int, quarter: Quarter) -> list[dict[str, Any]]:
    """The opportunities behind one person's figures: id, name, stage, amount, category (the snapshot's detail)."""
    category = category_expression(Opportunity).label("category")
    rows = db.session.execute(
        select(Opportunity.id, Opportunity.name, Opportunity.stage, Opportunity.amount, Opportunity.close_date,
               category)
        .where(Opportunity.owner_id == owner_id, *in_quarter(Opportunity, quarter))
        .order_by(Opportunity.close_date, Opportunity.id)
    ).all()
    return [{"id": r.id, "name": r.name, "stage": r.stage, "amount": str(r.amount or ZERO),
             "close_date": r.close_date.isoformat(), "category": r.category} for r in rows]


def team_members(viewer: Any, class_id: int | None = None) -> list[User]:
    """The people of the viewer's roll-up: the salespeople on positions below theirs (optionally of one class).

    A manager who is a salesperson too (a student on a department position) heads their own line.
    """
    if not isinstance(viewer, Viewer):
        return []
    ids = set(viewer.subordinate_ids)
    if viewer.is_admin and class_id is not None:
        ids |= set(db.session.scalars(select(User.id).where(User.class_id == class_id)))
    if not ids:
        return []
    if viewer.role == Role.STUDENT:
        ids.add(viewer.user_id)
    stmt = select(User).where(User.id.in_(sorted(ids)), User.role == Role.STUDENT,
                              User.status.in_([Status.ACTIVE, Status.DISABLED]))
    if class_id is not None:
        stmt = stmt.where(User.class_id == class_id)
    return list(db.session.scalars(stmt.order_by(User.display_name, User.id)))


def position_labels(members: list[User]) -> dict[int, str]:
    """Each member's position below their class (销售一部 › 销售代表), read in one query for the whole team."""
    class_ids = sorted({m.class_id for m in members if m.class_id is not None})
    if not class_ids:
        return {}
    nodes = {p.id: p for p in db.session.execute(
        select(Position.id, Position.name, Position.parent_id, Position.class_id).where(
            Position.class_id.in_(class_ids)))}
    labels = {}
    for member in members:
        names, node = [], nodes.get(member.position_id or 0)
        while node is not None and node.id != node.class_id:
            names.append(node.name)
            node = nodes.get(node.parent_id or 0)
        labels[member.id] = Position.SEPARATOR.join(reversed(names))
    return labels
