"""Campaign pages: the generic ones over the registry entry, the campaign page with its figures and funnel,
its members (add one, add by filter, import a file, change a response, remove) and the campaign tasks."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from flask_login import current_user
from sqlalchemy import and_, select

from ..access import get_visible_or_404, get_writable_or_404
from ..activities.models import TASK, Activity
from ..activities.services import closed_statuses, open_task_condition
from ..boundary import attempt
from ..clock import today
from ..codes.services import label as code_label
from ..extensions import db
from ..i18n import N_
from ..numbers import DB_INT_MAX, db_id
from ..records.import_files import read_table
from ..records.views import RecordViews
from . import bp, services
from .forms import AddMemberForm, FilterMembersForm, ImportMembersForm, MemberStatusForm
from .models import Campaign, CampaignMember
from .record import CAMPAIGN

# 我的任务 / 未完成任务 / 历史任务 / 所有任务 (SPEC §5.10).
TASK_VIEWS = {"my": N_("My tasks"), "open": N_("Open tasks"), "history": N_("Task history"), "all": N_("All tasks")}
TASK_LIMIT = 200


class CampaignViews(RecordViews):
    """The campaign page adds the figures, the funnel, the members and the forms that change them."""

    def render(self, template: str, **context: Any) -> str:
        """Render a page; the detail page also gets the campaign's figures and members."""
        if template == self.detail_template and "obj" in context:
            context.update(campaign_context(context["obj"], **g.get("campaign_forms", {})))
        return super().render(template, **context)


def campaign_context(campaign: Campaign, **forms: Any) -> dict[str, Any]:
    """What the campaign page shows besides the generic record page."""
    figures = services.figures(campaign)
    status = request.args.get("member_status") or None
    members = services.members_of(campaign, status)
    funnel = {
        "labels": [_("Members"), _("Responded"), _("Leads"), _("Opportunities"), _("Won")],
        "values": figures.funnel,
        "title": _("Campaign funnel"),
    }
    return {
        "figures": figures, "members": members, "member_filter": status,
        "people": services.people_labels(members),
        # The day each member was added, in the configured time zone (a date, not a UTC timestamp).
        "added_on": {m.id: to_user_timezone(m.added_at.replace(tzinfo=UTC)).date() for m in members},
        # Links of the member rows, built once (url_for per row costs more than the row).
        "member_base": url_for("campaigns.detail", record_id=campaign.id) + "/members/",
        "lead_base": url_for("leads.detail", record_id=0)[:-1], "contact_base": url_for("contacts.detail", record_id=0)[:-1],
        "shown_total": dict((c, n) for c, _label, n in figures.by_status).get(status, 0) if status else figures.members,
        "funnel": funnel,
        "add_form": forms.get("add_form") or AddMemberForm(formdata=None),
        "filter_form": forms.get("filter_form") or FilterMembersForm(formdata=None),
        "status_form": MemberStatusForm(formdata=None),
        "import_form": ImportMembersForm(formdata=None),
    }


views = CampaignViews(bp, CAMPAIGN)
views.register()


def _member(campaign: Campaign, member_id: int) -> CampaignMember:
    """A member of the campaign (a member of another campaign, or none: 404)."""
    if not 0 < member_id <= DB_INT_MAX:
        abort(404)
    member = db.session.get(CampaignMember, member_id)
    if member is None or member.campaign_id != campaign.id:
        abort(404)
    return member


def _back(campaign: Campaign) -> Any:
    return redirect(url_for("campaigns.detail", record_id=campaign.id) + "#members")


def _detail_with(campaign: Campaign, status: int, **forms: Any) -> Any:
    """The campaign page again, with a refused form's messages next to its fields."""
    g.campaign_forms = forms
    return views.detail(campaign.id), status


@bp.route("/<int:record_id>/members/add", methods=["POST"])
def member_add(record_id: int) -> Any:
    """Add one visible lead or contact."""
    campaign = get_writable_or_404(Campaign, record_id)
    form = AddMemberForm()
    if form.validate_on_submit():
        kind = form.member_type.data
        with attempt(form, f"{kind}_id") as outcome:
            services.add_member(campaign, kind, getattr(form, f"{kind}_id").data, form.status.data)
        if not outcome.failed:
            flash(_("Member added."), "success")
            return _back(campaign)
    return _detail_with(campaign, 400, add_form=form)


@bp.route("/<int:record_id>/members/add-filtered", methods=["POST"])
def member_add_filtered(record_id: int) -> Any:
    """Add every visible lead or contact a filter selects (those already in are not added twice)."""
    campaign = get_writable_or_404(Campaign, record_id)
    form = FilterMembersForm()
    if form.validate_on_submit():
        filters = {"lead_status": form.lead_status.data, "lead_source": form.lead_source.data,
                   "industry": form.industry.data, "account_id": form.account_id.data}
        with attempt(form, "member_type") as outcome:
            added, skipped = services.add_matching(campaign, form.member_type.data, filters)
        if not outcome.failed:
            flash(_("%(added)s added; %(skipped)s were members already.", added=added, skipped=skipped), "success")
            return _back(campaign)
    return _detail_with(campaign, 400, filter_form=form)


@bp.route("/<int:record_id>/members/<int:member_id>/status", methods=["POST"])
def member_status(record_id: int, member_id: int) -> Any:
    """Change a member's response status."""
    campaign = get_writable_or_404(Campaign, record_id)
    member = _member(campaign, member_id)
    form = MemberStatusForm()
    if not form.validate_on_submit():
        flash(_("Choose a response status from the list."), "danger")
        return _back(campaign)
    with attempt(category="danger") as outcome:
        services.update_member(campaign, member, form.status.data)
    if not outcome.failed:
        flash(_("Response saved."), "success")
    return _back(campaign)


@bp.route("/<int:record_id>/members/<int:member_id>/remove", methods=["POST"])
def member_remove(record_id: int, member_id: int) -> Any:
    """Take a member out of the campaign."""
    campaign = get_writable_or_404(Campaign, record_id)
    member = _member(campaign, member_id)
    with attempt(category="danger") as outcome:
        services.remove_member(campaign, member)
    if not outcome.failed:
        flash(_("Member removed."), "success")
    return _back(campaign)


@bp.route("/<int:record_id>/members/import", methods=["GET", "POST"])
def member_import(record_id: int) -> Any:
    """Import members from a CSV or XLSX file: every row checked first, then all added or none."""
    campaign = get_writable_or_404(Campaign, record_id)
    form = ImportMembersForm()
    check = None
    if form.validate_on_submit():
        upload = form.file.data
        with attempt(form, "file") as outcome:
            table = read_table(upload.read(), upload.filename or "members.csv")
            check = services.check_member_rows(campaign, table.header, table.rows)
            if check.problem:
                form.file.errors = [check.problem]
            elif check.ok:
                added = services.import_members(campaign, check)
        if not outcome.failed and check is not None and check.ok:
            flash(_("%(n)s members imported.", n=added), "success")
            return _back(campaign)
    status = 400 if request.method == "POST" else 200
    return render_template("campaigns/import_members.html", campaign=campaign, form=form, check=check), status


@bp.route("/tasks")
def tasks() -> Any:
    """Campaign tasks (activities about campaigns the viewer may see): mine, open, history or all."""
    view = request.args.get("view", "my")
    if view not in TASK_VIEWS:
        view = "my"
    campaign = None
    campaign_id = request.args.get("campaign", type=db_id)
    if request.args.get("campaign") and campaign_id is None:
        abort(404)
    if campaign_id is not None:
        campaign = get_visible_or_404(Campaign, campaign_id)
    rows = campaign_tasks(view, campaign.id if campaign else None)
    names = dict(db.session.execute(select(Campaign.id, Campaign.name)
                                    .where(Campaign.id.in_({t.related_id for t in rows}))).all())
    return render_template("campaigns/tasks.html", rows=rows, view=view, views=TASK_VIEWS, campaign=campaign,
                           names=names, today=today(), status_label=lambda code: code_label("task_status", code))


def campaign_tasks(view: str, campaign_id: int | None = None) -> list[Activity]:
    """Tasks about visible campaigns (the visibility rule filters tasks and campaigns alike) in one view."""
    stmt = select(Activity).where(Activity.kind == TASK, Activity.related_type == "campaign",
                                  Activity.related_id.in_(select(Campaign.id)))
    if campaign_id is not None:
        stmt = stmt.where(Activity.related_id == campaign_id)
    if view == "my":
        stmt = stmt.where(Activity.owner_id == current_user.id, open_task_condition())
    elif view == "open":
        stmt = stmt.where(open_task_condition())
    elif view == "history":
        stmt = stmt.where(and_(Activity.status.is_not(None), Activity.status.in_(closed_statuses())))
    order = [Activity.due_date.desc(), Activity.id.desc()] if view == "history" else \
        [Activity.due_date.asc(), Activity.id.asc()]
    return list(db.session.scalars(stmt.order_by(*order).limit(TASK_LIMIT)))
