"""Service objectives: cases taken through their workflow (`case_resolved`), campaign members (`campaign_members`).

`case_resolved` counts the distinct cases of one workflow that the student moved, by their own
`case.transition` entries (the workflow contract: params `{"workflow", "from", "to"}`), along every move of
the required path and then into one of its end states. Only what stands counts: the case is not in the
recycle bin, still in an end state (not reopened or moved back out), of the wanted complaint level and,
when the objective asks, carries a satisfaction score. So a case worked twice counts once, a back-and-forth
adds nothing, a skipped state (a move the path does not have) leaves the path incomplete, a case someone
else closed is not the student's, and imported bulk changes count only when the scenario allows imports.

A replaced or undone run's cases are gone (a snapshot holds them): its grades read the log alone, the
satisfaction from the closing entry's changes.

`campaign_members` reads the member rows themselves (how members are added, one by one, from a list or by
CSV, is the campaigns module's business): the members the student added, in their run and by their deadline,
to their own campaigns that are not in the recycle bin; with `responded`, only those whose status is now a
responded one (the member_status code's `responded` flag). A member removed, a status set back, a generated
member or one a classmate added earns nothing. A replaced or undone run's members are gone: nothing is read.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import literal, not_, select

from seed.schema import CampaignMembers, CaseResolved, Objective
from seed.workflows import FLOWS

from ...campaigns.models import Campaign, CampaignMember
from ...cases.models import Case
from ...codes.services import flagged
from ...extensions import db
from ...i18n import N_
from ...oplog import LogEntry
from ..models import Run
from .checks import CheckKind, Context, Outcome, Phrases, count_reason, counted, make_outcome, register_check
from .effects import created_in_class, source_condition

# State names as the phrases show them (the workflow definitions' own labels live with the engine).
STATE_LABELS = {
    "new": N_("New"), "assigned": N_("Assigned"), "in_progress": N_("In progress"), "resolved": N_("Resolved"),
    "closed": N_("Case closed"), "received": N_("Received"), "investigated": N_("Investigated"),
    "agreed": N_("Agreed with the customer"), "adopted": N_("Adopted"), "not_adopted": N_("Not adopted"),
    "replied": N_("Replied"), "fed_back": N_("Fed back"), "unprocessed": N_("Unprocessed"),
    "processing": N_("Processing"), "completed": N_("Completed"), "rejected": N_("Rejected"), "request": N_("Request"),
    "order": N_("Order placed"), "dispatched": N_("Dispatched"), "reviewed": N_("Reviewed"), "settled": N_("Settled"),
    "called_back": N_("Called back"), "signed_off": N_("Signed off"),
}
WORKFLOW_PHRASES = {
    "feedback": N_("feedback cases"), "service_request": N_("service requests"), "complaint": N_("complaints"),
    "suggestion": N_("suggestions"), "info_flow": N_("information-flow tickets"),
    "visit_order": N_("key-customer visit orders"), "repair_order": N_("repair orders"),
}


def required_moves(check: CaseResolved) -> tuple[set[tuple[str, str]], set[tuple[str, str]], list[str], list[str]]:
    """(moves along the path, moves into an end, the path, the ends) of a check, defaults from the contract."""
    flow = FLOWS[check.workflow]
    path, ends = list(check.path or flow.path), list(check.ends or flow.ends)
    return set(zip(path, path[1:], strict=False)), {(path[-1], end) for end in ends}, path, ends


def _phrase(check: CaseResolved, path: list[str], ends: list[str], tr: Phrases) -> str:
    """"level-2 complaints taken through Assigned → … → Closed, with a satisfaction score"."""
    states = " → ".join(tr(STATE_LABELS.get(s, s)) for s in path)
    final = " / ".join(tr(STATE_LABELS.get(s, s)) for s in ends)
    what = tr(WORKFLOW_PHRASES.get(check.workflow, N_("cases")))
    if check.level is not None:
        what = tr(N_("level-%(level)d %(what)s"), level=check.level, what=what)
    text = tr(N_("%(what)s taken through %(states)s → %(final)s"), what=what, states=states, final=final)
    return tr(N_("%(text)s, with a satisfaction score"), text=text) if check.satisfaction else text


@register_check
class CaseResolvedCheck(CheckKind):
    """At least `count` distinct standing cases the student took through every state of the required path."""

    name = "case_resolved"

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        """One query for the class's counted transitions of the workflow, one for the state of those cases."""
        check: CaseResolved = objective.check
        along, into_end, path, ends = required_moves(check)
        conditions: list[Any] = [counted(ctx), LogEntry.verb == "case.transition", LogEntry.object_type == "case",
                                 LogEntry.params["workflow"].as_string() == check.workflow]
        allowed = source_condition(check.source)
        if allowed is not None:
            conditions.append(allowed)
        if check.origin != "any":
            made = created_in_class(literal("case"), LogEntry.object_id)
            conditions.append(made if check.origin == "created" else not_(made))
        entries = db.session.execute(
            select(LogEntry.id, LogEntry.actor_id, LogEntry.object_id, LogEntry.object_label,
                   LogEntry.params["from"].as_string(), LogEntry.params["to"].as_string(), LogEntry.changes)
            .where(*conditions).order_by(LogEntry.id).execution_options(skip_visibility=True)).all()
        moves: dict[tuple[int, int], set[tuple[str, str]]] = defaultdict(set)
        closing: dict[tuple[int, int], Any] = {}  # the latest move into an end: the entry that finished the case
        for ident, actor, case_id, label, source, target, changes in entries:
            move = (source, target)
            if move in along:
                moves[(actor, case_id)].add(move)
            elif move in into_end:
                moves[(actor, case_id)].add(move)
                closing[(actor, case_id)] = (ident, label, changes)
        finished = {pair for pair, made in moves.items() if along <= made and pair in closing}
        standing = self._standing(check, ends, {case_id for _actor, case_id in finished}) if ctx.live else None
        done: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
        for actor, case_id in sorted(finished):
            ident, label, changes = closing[(actor, case_id)]
            if standing is not None and case_id not in standing:
                continue
            if standing is None and check.satisfaction and not _scored(changes):
                continue
            done[actor].append((ident, case_id, label or ""))
        tr = Phrases()
        what = _phrase(check, path, ends, tr)
        result = {}
        for student in ctx.student_ids:
            mine = done.get(student, [])[: check.count]
            outcome = make_outcome(objective, len(mine), check.count, count_reason(len(mine), check.count, what, tr))
            if ctx.evidence:
                outcome.entry_ids = [ident for ident, _case, _label in mine]
                outcome.records = [("case", case_id, label) for _ident, case_id, label in mine]
            result[student] = outcome
        return result

    @staticmethod
    def _standing(check: CaseResolved, ends: list[str], case_ids: set[int]) -> set[int]:
        """The cases that still stand: not deleted, in an end state, of the level, scored when asked."""
        if not case_ids:
            return set()
        where = [Case.id.in_(sorted(case_ids)), Case.deleted_at.is_(None), Case.workflow == check.workflow,
                 Case.state.in_(ends)]
        if check.level is not None:
            where.append(Case.level == check.level)
        if check.satisfaction:
            where.append(Case.satisfaction.is_not(None))
        return set(db.session.scalars(select(Case.id).where(*where).execution_options(skip_visibility=True)))


def _scored(changes: Any) -> bool:
    """The closing entry set a satisfaction score (read from its changes, for a run whose cases are gone)."""
    pair = ((changes or {}).get("fields") or {}).get("satisfaction")
    return isinstance(pair, list) and len(pair) == 2 and pair[1] is not None


@register_check
class CampaignMembersCheck(CheckKind):
    """At least `count` standing members the student added to their own campaigns in their run."""

    name = "campaign_members"

    def evaluate(self, objective: Objective, ctx: Context) -> dict[int, Outcome]:
        """One query over the class's member rows added by the students (read as they stand now)."""
        check: CampaignMembers = objective.check
        starts = dict(db.session.execute(select(Run.id, Run.started_at).where(Run.id.in_(set(ctx.run_ids.values())))
                                         .execution_options(skip_visibility=True)).all())
        where: list[Any] = [Campaign.class_id == ctx.class_run.class_id, Campaign.deleted_at.is_(None),
                            CampaignMember.added_by_id.in_(ctx.student_ids),
                            CampaignMember.added_by_id == Campaign.owner_id]
        if check.responded:
            where.append(CampaignMember.status.in_(flagged("member_status", "responded")))
        rows = db.session.execute(
            select(CampaignMember.id, CampaignMember.added_by_id, CampaignMember.added_at, Campaign.id, Campaign.name)
            .join(Campaign, Campaign.id == CampaignMember.campaign_id).where(*where).order_by(CampaignMember.id)
            .execution_options(skip_visibility=True)).all() if ctx.live else []
        found: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for _member, student, added, campaign_id, name in rows:
            start = starts.get(ctx.run_ids.get(student, -1))
            if start is not None and start <= added <= ctx.deadlines[student]:
                found[student].append((campaign_id, name))
        tr = Phrases()
        what = tr(N_("campaign members who responded")) if check.responded else tr(N_("campaign members added"))
        result = {}
        for student in ctx.student_ids:
            done = min(len(found.get(student, [])), check.count)
            outcome = make_outcome(objective, done, check.count, count_reason(done, check.count, what, tr))
            if ctx.evidence:
                outcome.records = sorted({("campaign", c, n) for c, n in found.get(student, [])})
            result[student] = outcome
        return result
