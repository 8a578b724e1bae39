"""The forecast pages: a quarter's forecast (own and team), submitting it, and setting quotas."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from ..access import Viewer, current_viewer, require_changer
from ..boundary import attempt
from ..codes.services import label as code_label
from ..errors import ServiceError
from ..extensions import db
from ..fiscal import Quarter, current_quarter, fiscal_start, parse_quarter
from ..numbers import DB_INT_MAX
from ..oplog import current_actor
from ..org.models import Position, PositionKind, Role, User
from . import bp
from .categories import LABELS
from .figures import Figures, figures_by_owner, opportunity_lines, position_labels, team_members
from .forms import QuotaForm, QuotaImportForm, SubmitForecastForm
from .models import Quota
from .services import QuotaError, import_quotas, latest_submission, read_quarter, set_quota, settable_users


def _quarter() -> tuple[Quarter, str | None]:
    """The quarter of the URL (default: the current one) and the message when it could not be read."""
    raw = (request.args.get("quarter") or "").strip()
    if not raw:
        return current_quarter(), None
    quarter = parse_quarter(raw, fiscal_start())
    if quarter is None:
        return current_quarter(), _("Write the quarter as YEAR-Q1 … YEAR-Q4, such as 2026-Q3.")
    return quarter, None


def _int_arg(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > DB_INT_MAX:
        abort(404)
    return int(raw)


def _classes(viewer: Any) -> list[tuple[int, str]]:
    """The classes an instructor's or administrator's roll-up can be narrowed to."""
    if not isinstance(viewer, Viewer):
        return []
    ids = set(viewer.below_class_ids) | (set(viewer.managed_class_ids) if viewer.is_admin else set())
    if len(ids) < 2 and not viewer.is_admin:
        return []
    rows = db.session.execute(select(Position.id, Position.name).where(
        Position.id.in_(sorted(ids)), Position.kind == PositionKind.CLASS).order_by(Position.sort_order, Position.name))
    return [(r.id, r.name) for r in rows]


def _drill(user_id: int, quarter: Quarter) -> str:
    """The opportunity list of a member's won deals closing in the quarter (the reports' drill-down)."""
    return url_for("opportunities.index", report="opportunities.won", by="owner", value=user_id,
                   **{"from": quarter.first_day.isoformat(), "to": quarter.last_day.isoformat()})


@bp.app_template_global()
def forecast_category_of(opp: Any) -> str:
    """Where an opportunity counts in the forecast, in words (its record page shows it next to the stage)."""
    from .categories import effective

    return str(LABELS[effective(opp.stage, opp.forecast_category, opp.probability)])


@bp.route("/")
def index() -> Any:
    """A quarter's forecast: the viewer's own (or a team member's), and the roll-up of the viewer's team."""
    quarter, error = _quarter()
    viewer = current_viewer()
    actor = current_actor()
    class_id = _int_arg("class")
    classes = _classes(viewer)
    if class_id is not None and class_id not in {c for c, _n in classes}:
        abort(404)
    members = team_members(viewer, class_id)
    member_ids = [m.id for m in members]
    chosen = _int_arg("user")
    if chosen is not None and chosen != actor.id and chosen not in member_ids:
        abort(404)  # someone the viewer is not above: as if they did not exist
    person = db.session.get(User, chosen) if chosen is not None else actor
    ids = sorted({person.id, *member_ids})
    figures = figures_by_owner(ids, quarter)
    team = [(m, figures[m.id]) for m in members]
    total = Figures()
    for _m, f in team:
        total.add(f)
    mine = figures[person.id]
    own = person.id == actor.id
    submission = latest_submission(person.id, quarter)
    form = SubmitForecastForm(quarter=quarter.key)
    # Instructors and administrators sell nothing themselves: their page is the team's roll-up.
    show_person = not own or person.role == Role.STUDENT or not team
    return render_template(
        "forecasts/index.html", quarter=quarter, error=error, person=person, own=own, mine=mine,
        show_person=show_person,
        lines=opportunity_lines(person.id, quarter), labels=LABELS, submission=submission, form=form,
        team=team, total=total, places=position_labels(members), classes=classes, class_id=class_id, drill=_drill,
        may_set=bool(settable_users(viewer)), code_label=code_label,
    ), (400 if error else 200)


@bp.post("/submit")
def submit() -> Any:
    """Submit the viewer's forecast for the form's quarter (again: it replaces the last one)."""
    from .services import submit_forecast

    require_changer()
    form = SubmitForecastForm()
    if not form.validate_on_submit():
        flash(_("The form expired or was incomplete: submit your forecast again."), "danger")
        return redirect(url_for("forecasts.index"))
    try:
        quarter = read_quarter(form.quarter.data)
    except ServiceError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("forecasts.index"))
    replaced = latest_submission(current_actor().id, quarter) is not None
    with attempt() as outcome:
        submit_forecast(quarter)
    if outcome.failed:
        return redirect(url_for("forecasts.index", quarter=quarter.key))
    flash(_("Your forecast for %(quarter)s was submitted again; it replaces the earlier one.", quarter=quarter.key)
          if replaced else _("Your forecast for %(quarter)s was submitted.", quarter=quarter.key), "success")
    return redirect(url_for("forecasts.index", quarter=quarter.key))


def _quota_page(form: QuotaForm, upload: QuotaImportForm, quarter: Quarter, problems: list[str],
                status: int) -> Any:
    people = settable_users()
    ids = [p.id for p in people]
    quotas = dict(db.session.execute(select(Quota.owner_id, Quota.amount).where(
        Quota.owner_id.in_(ids), Quota.fiscal_year == quarter.year, Quota.quarter == quarter.quarter)).all()) if ids else {}
    return render_template("forecasts/quotas.html", form=form, upload=upload, quarter=quarter, people=people,
                           quotas=quotas, problems=problems), status


@bp.route("/quotas", methods=["GET", "POST"])
def quotas() -> Any:
    """Set a salesperson's quota (superiors only); the quotas of everyone below the viewer for a quarter."""
    require_changer()
    quarter, error = _quarter()
    form = QuotaForm(quarter=request.args.get("quarter") or quarter.key)
    upload = QuotaImportForm()
    if error:
        form.quarter.errors = [error]
        return _quota_page(form, upload, quarter, [], 400)
    if form.validate_on_submit():
        with attempt(form, "amount") as outcome:
            from .services import find_user, parse_amount

            user = find_user(form.username.data)
            chosen = read_quarter(form.quarter.data)
            quota = set_quota(user, chosen, parse_amount(form.amount.data))
        if not outcome.failed:
            flash(_("The quota of %(name)s for %(quarter)s is now %(amount)s.", name=user.display_name,
                    quarter=chosen.key, amount=quota.amount), "success")
            return redirect(url_for("forecasts.quotas", quarter=chosen.key))
        return _quota_page(form, upload, quarter, [], outcome.status)
    return _quota_page(form, upload, quarter, [], 400 if form.errors else 200)


@bp.post("/quotas/import")
def quota_import() -> Any:
    """Import quotas from a CSV (username, quarter, amount): all rows or none, with every row's problem."""
    require_changer()
    quarter, _error = _quarter()
    form = QuotaForm(formdata=None, quarter=quarter.key)
    upload = QuotaImportForm()
    if not upload.validate_on_submit():
        return _quota_page(form, upload, quarter, [], 400)
    raw = upload.file.data.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        upload.file.errors = [_("Save the file as UTF-8 CSV.")]
        return _quota_page(form, upload, quarter, [], 400)
    problems: list[str] = []
    with attempt(upload, "file") as outcome:
        try:
            count = import_quotas(text)
        except QuotaError as exc:
            problems = exc.problems
            raise
    if outcome.failed:
        return _quota_page(form, upload, quarter, problems, outcome.status)
    flash(_("%(n)d quotas imported.", n=count), "success")
    return redirect(url_for("forecasts.quotas", quarter=quarter.key))
