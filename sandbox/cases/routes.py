"""Case pages: the generic record pages over the case entry, with per-workflow forms, the state bar,
the allowed moves, the history and the knowledge article that solved it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select

from ..access import get_visible_or_404, get_writable_or_404, require_changer
from ..boundary import attempt
from ..errors import Conflict
from ..extensions import db
from ..oplog import current_actor
from ..org.models import User
from ..records import list_filters
from ..records.display import like_pattern
from ..records.lookups import visible_choices
from ..records.versioning import missing_version_message, sent_version
from ..records.views import RecordViews
from ..workflows import engine
from . import bp, rules, services
from .forms import build_form, form_values
from .models import Case
from .record import CASE


@dataclass
class ChoiceFilter:
    """A list filter whose values are not a code table (workflows, their states, levels)."""

    attr: str
    label: str
    choices: list[tuple[str, str]]


class CaseViews(RecordViews):
    """The generic pages, with forms built from the case's workflow and its own detail page."""

    # What `display` shows its own way among the list's columns (any other `*_at` field too, never listed).
    own_display = frozenset({"workflow", "state", "assignee_id", "supervisor_id", "due_at"})

    @property
    def filters(self) -> list[ChoiceFilter]:
        """The list's filters: workflow, state (of the chosen workflow, else of all), complaint level."""
        defs = engine.definitions()
        chosen = defs.get(request.args.get("workflow", ""))
        states: dict[str, str] = {}
        for wf in ([chosen] if chosen else defs.values()):
            for s in wf.states:
                states.setdefault(s.name, s.label.pick(rules.locale()))
        return [ChoiceFilter("workflow", _("Workflow"), [(k, rules.workflow_label(wf)) for k, wf in defs.items()]),
                ChoiceFilter("state", _("State"), list(states.items())),
                ChoiceFilter("level", _("Complaint level"), [(str(i), str(i)) for i in range(1, 6)])]

    def conditions(self, args: Any) -> list[Any]:
        """Workflow, state and level from the query string (unknown values ignored), search, owner and dates."""
        where: list[Any] = []
        defs = engine.definitions()
        if args.get("workflow") in defs:
            where.append(Case.workflow == args["workflow"])
        known_states = {s.name for wf in defs.values() for s in wf.states}
        if args.get("state") in known_states:
            where.append(Case.state == args["state"])
        if args.get("level", "") in {"1", "2", "3", "4", "5"}:
            where.append(Case.level == int(args["level"]))
        q = args.get("q", "").replace("\x00", "").strip()[:100]
        if q:
            pattern = like_pattern(q)
            where.append(or_(Case.subject.ilike(pattern, escape="\\"), Case.description.ilike(pattern, escape="\\")))
        return where + list_filters.conditions(Case, args)

    def display(self, obj: Any, attr: str) -> str:
        """Workflow and state by their labels, users by name, times in the configured zone."""
        wf = engine.definitions().get(obj.workflow)
        if attr == "workflow":
            return rules.workflow_label(wf, obj.workflow)
        if attr == "state":
            return rules.state_label(wf, obj.state)
        if attr in ("assignee_id", "supervisor_id"):
            user = obj.assignee if attr == "assignee_id" else obj.supervisor
            return user.display_name if user else ""
        if attr.endswith("_at") and getattr(obj, attr, None) is not None:
            from flask import current_app

            return current_app.jinja_env.filters["datetime"](getattr(obj, attr), "short")
        return super().display(obj, attr)

    def render(self, template: str, **context: Any) -> str:
        """Render a page; the detail page also gets the workflow, the moves, the history and the articles."""
        if template == self.detail_template and "obj" in context:
            context.update(detail_context(context["obj"]))
        return super().render(template, **context)

    # ---- create, clone, edit -------------------------------------------------------------------------
    def new(self, source: Any = None) -> Any:
        """Choose the workflow of a new case (each has its own fields)."""
        self.require_changer()
        if request.method == "POST" and request.form.get("workflow") in engine.definitions():
            return self.new_for(request.form["workflow"])
        return render_template("cases/choose.html", v=self, workflows=engine.definitions())

    def new_for(self, workflow: str, source: Case | None = None) -> Any:
        """Create a case of one workflow with the workflow's fields."""
        self.require_changer()
        wf = engine.definitions().get(workflow)
        if wf is None:
            abort(404)
        names = services.create_fields(wf)
        required = {"subject", *(r.field for r in wf.create.requires if not r.when)}
        class_id = getattr(current_user, "class_id", None)
        form = build_form(wf, names, required, class_id, obj=source if request.method == "GET" else None,
                          submit=_("Create"))
        title = _("New case: %(workflow)s", workflow=rules.workflow_label(wf))
        if request.method != "POST" or not form.validate_on_submit():
            return self.render("records/form.html", form=form, title=title, obj=None), (400 if form.errors else 200)
        with attempt(form, "subject") as outcome:
            case = services.create_case(wf.key, form_values(form, names))
        if outcome.failed:
            return self.render("records/form.html", form=form, title=title, obj=None), 400
        flash(_("%(type)s “%(label)s” created.", type=self.singular, label=case.audit_label), "success")
        return redirect(url_for("cases.detail", record_id=case.id))

    def clone(self, record_id: int) -> Any:
        """The new-case form of the same workflow, prefilled from a visible case."""
        self.require_changer()
        source = get_visible_or_404(Case, record_id)
        return self.new_for(source.workflow, source=source)

    def edit(self, record_id: int) -> Any:
        """Edit a case's fields (refused in a locked state; a newer save is a conflict)."""
        obj = self.writable(record_id)
        wf = services.graph_of(obj.workflow).workflow
        names = services.edit_fields(wf)
        required = {"subject", *(r.field for r in wf.create.requires if not r.when)}
        form = build_form(wf, names, required, obj.class_id, obj=obj if request.method == "GET" else None)
        if request.method == "GET":
            form.version.data = obj.version
        title = _("Edit %(type)s", type=self.singular)
        if request.method != "POST" or not form.validate_on_submit():
            return self.render("records/form.html", form=form, title=title, obj=obj), (400 if form.errors else 200)
        expected = sent_version(form)
        if expected is None:  # refused before any change: it would overwrite a save made since, unseen
            flash(missing_version_message(), "danger")
            return self.render("records/form.html", form=form, title=title, obj=obj), 400
        with attempt(form, "version") as outcome:
            services.update_case(obj, form_values(form, names), expected_version=expected)
        if not outcome.failed:
            flash(_("Changes saved."), "success")
            return redirect(url_for("cases.detail", record_id=record_id))
        error = outcome.error
        if isinstance(error, Conflict):
            return self.render("records/form.html", form=form, title=title, obj=obj, conflict=error.message), 409
        if error.field and hasattr(form, error.field) and error.field != "version":
            return self.render("records/form.html", form=form, title=title, obj=obj), 400
        form.version.errors = []
        flash(error.message, "danger")
        return redirect(url_for("cases.detail", record_id=record_id))


def detail_context(case: Case) -> dict[str, Any]:
    """What the case page shows besides the fields: workflow, state bar, moves, history, SLA, articles."""
    from ..knowledge.models import Article

    g = engine.graph(case.workflow)
    wf = g.workflow if g else None
    actor = current_actor()
    moves = services.moves_for(case, actor) if current_user.can_change else []
    solved_by = db.session.scalar(select(Article).where(Article.id == case.solved_by_id)) if case.solved_by_id else None
    names = {u.id: u.display_name for u in db.session.scalars(select(User).where(
        User.id.in_({h.changed_by_id for h in case.history if h.changed_by_id})))}
    return {
        "wf": wf, "state_label": lambda s: rules.state_label(wf, s), "field_label": lambda f: rules.field_label(wf, f),
        "moves": [(t, services.transition_fields(t)) for t in moves], "history": list(case.history),
        "history_names": names, "solved_by": solved_by, "sla_breach": case.sla_breached,
        "locked": bool(wf and wf.state(case.state) and wf.state(case.state).locked),
        "articles": visible_choices(Article, case.solved_by_id, blank=False),
        "show_value": lambda name, value: show_value(wf, name, value), "article_url": _article_url(solved_by),
    }


def _article_url(article: Any) -> str | None:
    """The knowledge article's page, when the knowledge pages are installed."""
    if article is None or "knowledge.detail" not in current_app.view_functions:
        return None
    return url_for("knowledge.detail", record_id=article.id)


def show_value(wf: Any, name: str, value: Any) -> str | Markup:
    """A value of the case or its history as text: labels of codes, names of users, parts as code × quantity."""
    if isinstance(value, list):
        return ", ".join(f"{p.get('code')} × {p.get('quantity')}" for p in value if isinstance(p, dict))
    if value is None:
        return ""
    kind = wf.field_kind(name) if wf else None
    if kind and kind.startswith("code:"):
        return views.display_code(kind[5:], str(value))
    if kind == "user":
        user = db.session.get(User, value) if isinstance(value, int) else None
        return user.display_name if user else str(value)
    if kind in ("account", "contact"):
        return views.reference_link(CASE.references[name], value)
    return str(value)


views = CaseViews(bp, CASE)
views.register()
bp.add_url_rule("/new/<workflow>", "new_for", views.new_for, methods=["GET", "POST"])


@bp.route("/<int:record_id>/move/<to>", methods=["GET", "POST"])
def move(record_id: int, to: str) -> Any:
    """Move a case to state `to`: a form asking exactly the move's fields; refusals next to the field."""
    case = get_writable_or_404(Case, record_id)
    g = services.graph_of(case.workflow)
    wf = g.workflow
    tr = g.move(case.state, to)
    names = services.transition_fields(tr) if tr else []
    required = {r.field for r in tr.requires if engine.matches(r.when, rules.values_of(case))} if tr else set()
    form = build_form(wf, names, required, case.class_id, obj=case if request.method == "GET" else None,
                      submit=tr.label.pick(rules.locale()) if tr else _("Save"))
    if request.method == "GET":
        form.version.data = case.version
    title = _("%(subject)s: to “%(state)s”", subject=case.subject, state=rules.state_label(wf, to))
    page = {"form": form, "title": title, "obj": case, "v": views}
    if request.method == "GET" or not form.validate_on_submit():
        if tr is None:
            flash(_("%(workflow)s: a case at “%(from)s” cannot move to “%(to)s”.", workflow=rules.workflow_label(wf),
                    **{"from": rules.state_label(wf, case.state)}, to=rules.state_label(wf, to)), "warning")
            return redirect(url_for("cases.detail", record_id=record_id))
        return render_template("records/form.html", **page), (400 if form.errors else 200)
    expected = sent_version(form)
    if expected is None:  # refused before the move: it would act on a case changed since, unseen
        flash(missing_version_message(), "danger")
        return render_template("records/form.html", **page), 400
    with attempt(form, None) as outcome:
        services.transition_case(case, to, form_values(form, names), expected_version=expected)
    if not outcome.failed:
        flash(_("Moved to “%(state)s”.", state=rules.state_label(wf, to)), "success")
        return redirect(url_for("cases.detail", record_id=record_id))
    if isinstance(outcome.error, Conflict):
        return render_template("records/form.html", conflict=outcome.error.message, **page), 409
    if outcome.error.field and hasattr(form, outcome.error.field):
        return render_template("records/form.html", **page), 400
    return redirect(url_for("cases.detail", record_id=record_id))


@bp.route("/<int:record_id>/solved-by", methods=["POST"])
def solved_by(record_id: int) -> Any:
    """Mark the case as solved by a knowledge article the viewer can see."""
    case = get_writable_or_404(Case, record_id)
    with attempt(category="warning") as outcome:
        services.link_article(case, request.form.get("article_id", ""))
    if not outcome.failed:
        flash(_("Knowledge article linked."), "success")
    return redirect(url_for("cases.detail", record_id=record_id))


__all__ = ["move", "require_changer", "solved_by", "views"]
