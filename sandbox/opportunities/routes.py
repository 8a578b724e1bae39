"""Opportunity pages: the generic ones, a stage path, history, reopen, and a pipeline board."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import func, select

from ..access import get_visible_or_404, get_writable_or_404
from ..boundary import attempt
from ..codes.services import choices, extra
from ..extensions import db
from ..records.forms import ConfirmForm
from ..records.views import RecordViews
from . import bp, items, services
from .lines import has_lines
from .models import Opportunity
from .record import OPPORTUNITY


def is_won(stage: str | None) -> bool:
    """A stage whose code-table extra says won (closed_won by default)."""
    return bool(extra("opportunity_stage", stage).get("won"))


def confirm_won(opp: Opportunity, action: str) -> tuple[str, int]:
    """The step before a deal is marked won: the same POST again, its fields carried along, plus confirm_won=y.

    Server-side, so it holds without JavaScript and for any client: no won stage without this answer.
    """
    fields = [(k, v) for k, v in request.form.items(multi=True) if k not in ("csrf_token", "confirm_won")]
    return render_template("opportunities/confirm_won.html", opp=opp, action=action, fields=fields,
                           form=ConfirmForm()), 200


def _wants_unconfirmed_win(opp: Opportunity) -> bool:
    # A closed deal is refused by the service with its own message: no point asking first.
    return (is_won(request.form.get("stage")) and not services.is_closed(opp.stage)
            and request.form.get("confirm_won") != "y")


_LOST_REASON = '<input type="hidden" name="lost_reason" value="">'


class OpportunityViews(RecordViews):
    """Adds the stage path, history, the close-date warning and the confirmation of a win to the generic pages."""

    def edit(self, record_id: int) -> Any:
        """The generic edit page, with the confirmation step before a save that marks the deal won."""
        if request.method == "POST":
            opp = get_writable_or_404(Opportunity, record_id)
            if _wants_unconfirmed_win(opp):
                return confirm_won(opp, url_for("opportunities.edit", record_id=record_id))
        return super().edit(record_id)

    def detail(self, record_id: int) -> str:
        """The generic record page, with a warning when an open deal's close date is long past."""
        opp = get_visible_or_404(Opportunity, record_id, include_deleted=True)
        warning = services.past_close_warning(opp)
        if warning:
            flash(warning, "warning")
        return self.detail_page(opp)  # read once: the generic page would look it up again

    def history_html(self, history: list[dict[str, Any]]) -> Markup:
        """The stage history's table rows, as the template's loop wrote them (byte for byte), escaped: one pass in
        Python instead of five template expressions per row."""
        when = current_app.jinja_env.filters["datetime"]  # the chrome's formatter: the same text as the template's
        stage = self.display_code
        rows = []
        for row in history:
            e = row["entry"]
            name = e.changed_by_name if e.changed_by_name is not None else "—"
            rows.append(f'<tr><td class="small">{escape(when(e.changed_at, "short"))}</td><td>{escape(name)}</td>\n'
                        f'    <td>{escape(stage("opportunity_stage", e.from_stage) or "—")}</td>'
                        f'<td>{escape(stage("opportunity_stage", e.to_stage))}</td><td>{escape(row["days"])}</td></tr>')
        return Markup("".join(rows))

    def stage_path(self, obj: Opportunity, stages: list[tuple[str, str]], writable: bool, closed: bool, csrf: Markup
                   ) -> Markup:
        """The stage path's buttons (a one-click form per stage the writer may move to), as the template's loop
        wrote them, whitespace included, escaped: one pass in Python instead of a dozen template statements per
        stage."""
        movable = writable and not closed and not obj.is_deleted
        action = escape(url_for("opportunities.stage", record_id=obj.id)) if movable else ""
        passed, html = True, []
        lost_title = _("Edit the opportunity to close it as lost with a reason.")
        for code, label in stages:
            current = code == obj.stage
            if movable and not current:
                lost = code == "closed_lost"
                look = "btn-success" if passed else "btn-outline-secondary"
                hidden = _LOST_REASON if lost else ""
                why = f'disabled title="{escape(lost_title)}"' if lost else ""
                shown = (f'\n    <form method="post" action="{action}" class="flex-fill">{csrf}<input type="hidden" '
                         f'name="stage" value="{escape(code)}">\n      {hidden}\n      '
                         f'<button class="btn btn-sm w-100 {look}" type="submit" {why}>{escape(label)}</button></form>\n    ')
            else:
                look = "btn-primary" if current else ("btn-success" if passed else "btn-outline-secondary")
                shown = f'\n    <span class="btn btn-sm flex-fill {look} disabled">{escape(label)}</span>\n    '
            html.append(f"\n    \n    {shown}\n    \n  ")
            if current:
                passed = False
        return Markup("".join(html))

    def render(self, template: str, **context: Any) -> str:
        """Add the stage path, history and product lines to the record page; lock a line-driven amount."""
        if template == self.detail_template and "obj" in context:
            found = items.children(context["obj"])
            context["history_html"] = self.history_html(items.history_rows(found))
            context["stages"] = choices("opportunity_stage", context["obj"].stage)
            context["closed"] = services.is_closed(context["obj"].stage)
            context["stage_path"] = self.stage_path(context["obj"], context["stages"], context.get("writable", False),
                                                    context["closed"], context["csrf"])
            context["items"] = items.detail_context(context["obj"], context.get("writable", False), context["csrf"],
                                                    found)
        if template == "records/form.html" and context.get("obj") is not None and has_lines(context["obj"]):
            amount = context["form"].amount
            amount.render_kw = {"readonly": True, "class": "bg-light"}
            amount.description = _("The amount follows the product lines; change the lines to change it.")
        return super().render(template, **context)


views = OpportunityViews(bp, OPPORTUNITY)
views.register()


@bp.post("/<int:record_id>/stage")
def stage(record_id: int) -> Any:
    """Move to another stage in one click from the stage path."""
    opp = get_writable_or_404(Opportunity, record_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    target = request.form.get("stage", "")
    if target not in dict(choices("opportunity_stage")):
        flash(_("Unknown stage."), "danger")
    elif target != opp.stage:
        if _wants_unconfirmed_win(opp):
            return confirm_won(opp, url_for("opportunities.stage", record_id=record_id))
        with attempt() as outcome:
            services.change_stage(opp, target, request.form.get("lost_reason") or None)
        if not outcome.failed:
            flash(_("Stage changed."), "success")
    return redirect(url_for("opportunities.detail", record_id=record_id))


@bp.post("/<int:record_id>/reopen")
def reopen(record_id: int) -> Any:
    """Reopen a closed opportunity at the last open stage it had."""
    opp = get_writable_or_404(Opportunity, record_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt() as outcome:
        services.reopen(opp)
    if not outcome.failed:
        flash(_("Opportunity reopened."), "success")
    return redirect(url_for("opportunities.detail", record_id=record_id))


@bp.get("/pipeline")
def pipeline() -> str:
    """A board of open and closed opportunities by stage (amount and count per column)."""
    stages = choices("opportunity_stage")
    totals = {s: (n, a) for s, n, a in db.session.execute(
        select(Opportunity.stage, func.count(), func.coalesce(func.sum(Opportunity.amount), 0))
        .group_by(Opportunity.stage)).all()}
    columns = []
    for code, label in stages:
        cards = list(db.session.scalars(
            select(Opportunity).where(Opportunity.stage == code)
            .order_by(Opportunity.close_date.asc(), Opportunity.id).limit(30)))
        count, amount = totals.get(code, (0, 0))
        columns.append({"code": code, "label": label, "cards": cards, "count": count, "amount": amount})
    # Column totals read in the viewer's class currency (a teacher's: that of the classes they see).
    board_class = current_user.class_id or next((c["cards"][0].class_id for c in columns if c["cards"]), None)
    return render_template("opportunities/pipeline.html", columns=columns, board_class=board_class)
