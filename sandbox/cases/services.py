"""Case services: create, edit, move along the workflow, link a knowledge article; each one logged operation.

The rules are the definition's (workflows/*.yaml, read by sandbox/workflows): a move the graph does not
have, a move out of a locked state, a move the actor may not make and a required field left empty are
refused with a message naming the rule, before anything is written, so a refusal changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..access import acting_as_system, current_viewer
from ..clock import utcnow
from ..errors import ServiceError
from ..extensions import db
from ..i18n import N_
from ..notifications.services import notify, register_kinds
from ..oplog import current_actor, current_op, operation, register_verbs
from ..org.models import Role, User
from ..records.services import VersionConflict, _check_write, create_record
from ..workflows import engine
from ..workflows.schema import BUILTIN_FIELDS, TransitionDef, Workflow
from . import rules
from .models import Case, CaseHistory

register_verbs({
    "case.create": N_("created case %(label)s"),
    "case.update": N_("edited case %(label)s"),
    "case.transition": N_("moved case %(label)s from %(from)s to %(to)s"),
    "case.solved_by": N_("marked case %(label)s as solved by a knowledge article"),
    "case.transfer": N_("transferred case %(label)s from %(old_owner)s to %(new_owner)s"),
    "case.delete": N_("deleted case %(label)s"),
    "case.restore": N_("restored case %(label)s"),
    "case.bulk_create": N_("created %(count)s visit orders from a file"),
    "case.bulk_transition": N_("changed the status of %(changed)s visit orders (%(refused)s refused)"),
})
register_kinds({
    "case.assigned": N_("Case %(label)s was assigned to you"),
    "case.supervise": N_("You supervise complaint %(label)s (level %(level)s)"),
    "complaint.level1": N_("Level-1 complaint: %(label)s"),
})


def graph_of(key: str | None) -> engine.Graph:
    """The graph of a workflow key; a refusal next to the workflow field for an unknown one."""
    found = engine.graph(key)
    if found is None:
        raise ServiceError(_("Choose one of the workflows."), "workflow")
    return found


def create_fields(wf: Workflow) -> list[str]:
    """The fields creating a case of this workflow asks for: the common ones, then the workflow's."""
    own = [r.field for r in wf.create.requires] + list(wf.create.asks)
    return list(dict.fromkeys([*rules.COMMON_FIELDS, *own]))


def edit_fields(wf: Workflow) -> list[str]:
    """The fields the edit form offers: the creation fields and who handles the case."""
    return list(dict.fromkeys([*create_fields(wf), "assignee_id", "supervisor_id"]))


def _read(wf: Workflow, names: list[str], data: dict[str, Any], class_id: int | None) -> dict[str, Any]:
    """The given values of `names` (keys absent from `data` are left out), each read by its kind (the users they
    name looked up together)."""
    people = [rules.as_id(data[n]) for n in names if n in data and wf.field_kind(n) == "user" and data[n]]
    users = rules.class_users(people, class_id) if people else None
    return {name: rules.read_value(wf, name, data.get(name), class_id, users) for name in names if name in data}


def _require(wf: Workflow, requirements: list[Any], values: dict[str, Any], step: str) -> None:
    """Refuse, next to the field, the first requirement the values leave unmet, naming the rule."""
    for req in engine.missing(requirements, values):
        label = rules.field_label(wf, req.field)
        if req.when:
            condition = ", ".join(f"{rules.field_label(wf, k)} = {v}" for k, v in req.when.items())
            message = _("%(workflow)s: %(step)s requires %(field)s when %(condition)s.",
                        workflow=rules.workflow_label(wf), step=step, field=label, condition=condition)
        else:
            message = _("%(workflow)s: %(step)s requires %(field)s.", workflow=rules.workflow_label(wf), step=step,
                        field=label)
        raise ServiceError(message, req.field)


def _due(wf: Workflow, case: Case) -> Any:
    hours = engine.sla_hours(wf, case.level)
    return (case.created_at or utcnow()) + timedelta(hours=hours) if hours else None


def _notify(wf: Workflow, case: Case, events: list[tuple[str, str | None]]) -> None:
    """Raise the definition's notifications that these events (create / enter STATE / change FIELD) trigger."""
    values = rules.values_of(case)
    for rule in wf.notifications:
        hit = False
        for event, arg in events:
            if event not in rule.events:
                continue
            if event == "create":
                hit = hit or rule.field is None or not engine.empty(values.get(rule.field))
            elif event == "enter":
                hit = hit or rule.state == arg
            elif event == "escalate":
                hit = True
            else:
                hit = hit or rule.field == arg
        if not hit or not engine.matches(rule.when, values):
            continue
        ids: list[int | None] = []
        for who in rule.recipients:
            ids += {"instructors": lambda: rules.instructor_ids(case.class_id),
                    "superiors": lambda: rules.superior_ids(case),
                    "supervisor": lambda: [case.supervisor_id],
                    "assignee": lambda: [case.assignee_id],
                    "owner": lambda: [case.owner_id]}[who]()
        # Whoever made the change knows it already: the news goes to the others.
        actor_id = getattr(current_actor(), "id", None)
        notify([i for i in ids if i != actor_id], rule.kind, case, workflow=wf.key, level=case.level, state=case.state)


def create_case(workflow: str, data: dict[str, Any], owner: User | None = None) -> Case:
    """Create a case of `workflow` (logged `case.create`): its initial state, required fields, SLA, notifications."""
    g = graph_of(workflow)
    wf = g.workflow
    actor = current_actor()
    class_id = (owner or actor).class_id if (owner or actor) is not None else None
    names = [*create_fields(wf), "assignee_id", "supervisor_id"]
    given = _read(wf, names, data, class_id)
    if engine.empty(given.get("subject")):
        raise ServiceError(_("Give the case a subject."), "subject")
    _require(wf, wf.create.requires, given, _("creating a case"))
    columns = {k: v for k, v in given.items() if k in BUILTIN_FIELDS}
    extra = {k: v for k, v in given.items() if k not in BUILTIN_FIELDS and v is not None}

    def after(case: Case) -> None:
        now = utcnow()
        for stamp in (wf.state(wf.initial).sets if wf.state(wf.initial) else []):
            rules.set_stamp(case, stamp, now)
        case.due_at = _due(wf, case)
        db.session.add(CaseHistory(case_id=case.id, from_state=None, to_state=wf.initial,
                                   changed_by_id=getattr(actor, "id", None), changed_at=now,
                                   values={k: v for k, v in given.items() if v is not None} or None))
        _notify(wf, case, [("create", None)])

    return create_record(Case, {**columns, "workflow": wf.key, "state": wf.initial, "data": extra or None},
                         owner=owner, after=after)


def create_from_form(model: type, data: dict[str, Any]) -> Case:
    """The registry's create service (generic import): the row's `workflow` column picks the definition."""
    data = dict(data)
    return create_case(data.pop("workflow", None) or "", data)


def _check_open(case: Case, wf: Workflow) -> None:
    _check_write(case)
    if case.is_deleted:
        raise ServiceError(_("This record is in the recycle bin; restore it before editing."))
    state = wf.state(case.state)
    if state is not None and state.locked:
        raise ServiceError(_("%(workflow)s: “%(state)s” is a locked state; the case no longer changes.",
                             workflow=rules.workflow_label(wf), state=rules.state_label(wf, case.state)), "state")


def _check_version(case: Case, expected_version: int | None) -> None:
    if expected_version is not None and case.version != expected_version:
        raise VersionConflict(_("Someone else saved this record after you opened it. Reload it to see their changes."))


def _apply(wf: Workflow, case: Case, given: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Write values; the change events they make (level changes also move the SLA deadline)."""
    events: list[tuple[str, str | None]] = []
    before = rules.values_of(case)
    for name, value in given.items():
        if before.get(name) != value:
            rules.set_value(case, name, value)
            events.append(("change", name))
    if ("change", "level") in events:
        case.due_at = _due(wf, case)
        old, new = before.get("level"), case.level
        if old is not None and new is not None and new < old:  # 1 is the most severe level
            events.append(("escalate", "level"))
    return events


@operation("case.update")
def update_case(case: Case, data: dict[str, Any], expected_version: int | None = None) -> Case:
    """Edit a case's fields (not in a locked state; version-checked); a change of level to 1 notifies again."""
    wf = graph_of(case.workflow).workflow
    _check_open(case, wf)
    _check_version(case, expected_version)
    given = _read(wf, edit_fields(wf), data, case.class_id)
    if "subject" in given and engine.empty(given["subject"]):
        raise ServiceError(_("Give the case a subject."), "subject")
    merged = {**rules.values_of(case), **given}
    _require(wf, wf.create.requires, merged, _("a case"))
    _notify(wf, case, _apply(wf, case, given))
    current_op().target(case)
    return case


def may_make(tr: TransitionDef, case: Case, actor: User | None) -> bool:
    """Whether the actor is one of those the move names (admins and the system always are)."""
    if actor is None:
        return acting_as_system(actor)
    if actor.role == Role.ADMIN:
        return True
    viewer = current_viewer()
    checks = {
        "owner": lambda: case.owner_id == actor.id,
        "assignee": lambda: case.assignee_id == actor.id,
        "creator": lambda: case.created_by_id == actor.id,
        "supervisor": lambda: case.supervisor_id == actor.id,
        "superior": lambda: rules.is_superior(actor, case),
        "instructor": lambda: actor.role == Role.INSTRUCTOR and case.class_id in getattr(
            viewer, "managed_class_ids", frozenset()),
    }
    if any(checks[who]() for who in tr.who):
        return True
    if actor.role in tr.roles:
        return True
    return bool(tr.positions and actor.position and actor.position.name in tr.positions)


def who_words(tr: TransitionDef) -> str:
    """Who may make a move, in words (for the refusal naming the rule)."""
    words = {"owner": _("the case's owner"), "assignee": _("its assignee"), "creator": _("its creator"),
             "superior": _("the owner's superiors"), "instructor": _("the class's instructors"),
             "supervisor": _("its supervisor")}
    parts = [words[w] for w in tr.who] + list(tr.roles) + list(tr.positions)
    return ", ".join(parts)


def moves_for(case: Case, actor: User | None) -> list[TransitionDef]:
    """The moves out of the case's state that the actor may make (none from a locked state)."""
    g = engine.graph(case.workflow)
    if g is None or case.is_deleted:
        return []
    state = g.workflow.state(case.state)
    if state is None or state.locked:
        return []
    return [t for t in g.outgoing(case.state) if may_make(t, case, actor)]


def transition_fields(tr: TransitionDef) -> list[str]:
    """The fields a move's form asks for (satisfaction last, when the move takes a score)."""
    return [*engine.form_fields(tr), *(["satisfaction"] if tr.satisfaction else [])]


@operation("case.transition")
def transition_case(case: Case, to: str, values: dict[str, Any] | None = None,
                    expected_version: int | None = None) -> Case:
    """Move a case to state `to` (one logged operation): check the rule, write the fields, stamps, history,
    parts and notifications. A refusal names the rule and happens before anything is written."""
    g = graph_of(case.workflow)
    wf = g.workflow
    _check_open(case, wf)
    _check_version(case, expected_version)
    source = case.state
    tr = g.move(source, to or "")
    if tr is None:
        targets = ", ".join(f"“{rules.state_label(wf, t.to)}”" for t in g.outgoing(source)) or _("none")
        raise ServiceError(_("%(workflow)s: a case at “%(from)s” cannot move to “%(to)s” (allowed: %(allowed)s).",
                             workflow=rules.workflow_label(wf), **{"from": rules.state_label(wf, source)},
                             to=rules.state_label(wf, to), allowed=targets), "to")
    actor = current_actor()
    if not may_make(tr, case, actor):
        raise ServiceError(_("%(workflow)s: only %(who)s may move a case to “%(to)s”.",
                             workflow=rules.workflow_label(wf), who=who_words(tr), to=rules.state_label(wf, to)), "to")
    values = values or {}
    given = _read(wf, engine.form_fields(tr), values, case.class_id)
    if tr.satisfaction and "satisfaction" in values:
        given["satisfaction"] = rules.read_value(wf, "satisfaction", values["satisfaction"], case.class_id)
    merged = {**rules.values_of(case), **given}
    step = _("“%(from)s” → “%(to)s”", **{"from": rules.state_label(wf, source)}, to=rules.state_label(wf, to))
    _require(wf, tr.requires, merged, step)
    consumed = _consume_parts(case, given.get("parts"))
    if consumed is not None:
        given["parts"] = consumed
    # Everything is checked: write. (Parts above are the only write that can still be refused: below zero.)
    events = _apply(wf, case, given)
    case.state = to
    now = utcnow()
    state = wf.state(to)
    for stamp in state.clears:
        rules.set_stamp(case, stamp, None)
    for stamp in state.sets:
        rules.set_stamp(case, stamp, now)
    db.session.add(CaseHistory(case_id=case.id, from_state=source, to_state=to,
                               changed_by_id=getattr(actor, "id", None), changed_at=now,
                               values={k: v for k, v in given.items() if v is not None} or None))
    _notify(wf, case, [("enter", to), *events])
    current_op().target(case, workflow=wf.key, **{"from": source}, to=to)
    return case


def _consume_parts(case: Case, parts: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Take the parts out of stock (the case's class catalogue); never below zero: refused, nothing kept."""
    if not parts:
        return None
    from ..products.models import Product
    from ..products.stock import consume_parts

    actor = current_actor()
    used = []
    for part in parts:
        product = db.session.scalar(select(Product).where(Product.code == part["code"],
                                                          Product.class_id == case.class_id))
        if product is None:
            raise ServiceError(_("Spare parts: no product with the code “%(code)s” in this class.", code=part["code"]),
                               "parts")
        try:
            consume_parts(product, part["quantity"], case.id, by_id=getattr(actor, "id", None))
        except ServiceError as exc:
            raise ServiceError(exc.message, "parts") from None
        used.append({"product_id": product.id, "code": product.code, "quantity": part["quantity"]})
    return used


@operation("case.solved_by")
def link_article(case: Case, article_id: Any) -> Case:
    """Mark the case as solved by a knowledge article the actor can see (not in a locked state)."""
    from ..knowledge.models import Article

    wf = graph_of(case.workflow).workflow
    _check_open(case, wf)
    try:
        ident = int(str(article_id).strip())
    except ValueError:
        ident = 0
    article = db.session.scalar(select(Article).where(Article.id == ident)) if 0 < ident < 2**31 else None
    if article is None:
        raise ServiceError(_("Choose a knowledge article you can see."), "article_id")
    case.solved_by_id = article.id
    current_op().target(case, article_id=article.id)
    return case
