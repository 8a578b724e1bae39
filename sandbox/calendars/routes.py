"""Calendar pages: the calendar (FullCalendar over a JSON endpoint), rescheduling by drag, the feed page
and the public iCalendar feed behind its token."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..access import Viewer, current_viewer, get_writable_or_404, use_viewer, viewer_for
from ..activities.models import Activity
from ..boundary import attempt
from ..clock import today
from ..extensions import limiter
from ..records.forms import ConfirmForm
from . import bp, services
from .services import VIEWS, CalendarInputError


def _bad_request(error: CalendarInputError) -> tuple[Response, int]:
    return jsonify({"error": error.message, "field": error.field}), 400


@bp.route("/")
def index() -> Any:
    """The calendar: `view` (day, week, month) and `date` choose the first screen, `who` whose calendar."""
    problems: list[CalendarInputError] = []
    choices = services.who_choices()
    view, day, who = "month", today(), choices[0] if choices else None
    try:
        view = services.parse_view(request.args.get("view"))
    except CalendarInputError as refused:
        problems.append(refused)
    try:
        day = services.parse_day(request.args.get("date"))
    except CalendarInputError as refused:
        problems.append(refused)
    try:
        who = services.parse_who(request.args.get("who"), choices)
    except CalendarInputError as refused:
        problems.append(refused)
    viewer = current_viewer()
    config = {
        "view": VIEWS[view], "date": day.isoformat(), "who": who.key if who else services.ME,
        "events": url_for("calendars.events"), "move": url_for("calendars.move", record_id=0),
        "newActivity": url_for("activities.new"), "now": services._local(services.utcnow()).isoformat(),
        "locale": "zh-cn" if str(get_locale() or "").startswith("zh") else "en",
        # FullCalendar's global bundle ships English texts only: its buttons speak the page's language.
        "texts": {"today": _("Today"), "month": _("Month"), "week": _("Week"), "day": _("Day"),
                  "allDay": _("All day"), "more": _("more")},
        "csrf": generate_csrf(),
        "canCreate": isinstance(viewer, Viewer) and not viewer.is_readonly,
        "messages": {
            "stale": _("Someone else saved this activity after the calendar showed it: it is back where it was "
                       "saved. Drag it again if you still want to move it."),
            "failed": _("The activity could not be moved."),
            "moved": _("Moved: %(subject)s", subject="{subject}"),
            "allDay": _("An event keeps its times; drop it on a day or a time slot, not on the all-day row."),
        },
    }
    status = 400 if problems else 200
    return render_template("calendars/index.html", config=config, problems=problems, view=view, day=day,
                           who=who, choices=choices), status


@bp.route("/events")
def events() -> Any:
    """The activities of a range as FullCalendar JSON (`start`, `end`, `who`), through visibility."""
    try:
        who = services.parse_who(request.args.get("who"))
        first, last = services.parse_range(request.args.get("start"), request.args.get("end"))
    except CalendarInputError as refused:
        return _bad_request(refused)
    return jsonify(services.events_for(who, first, last))


@bp.post("/events/<int:record_id>/move")
def move(record_id: int) -> Any:
    """Reschedule by drag: JSON (or form) `start` and `version`; 409 when someone saved it since."""
    obj = get_writable_or_404(Activity, record_id)
    payload = request.get_json(silent=True) if request.is_json else None
    payload = payload if isinstance(payload, dict) else request.form
    raw_version = payload.get("version")
    version = raw_version if isinstance(raw_version, int) else (
        int(raw_version) if isinstance(raw_version, str) and raw_version.isdigit() and len(raw_version) < 10 else None)
    if version is None:
        return jsonify({"error": _("The calendar sent no version; reload the page."), "field": "version"}), 400
    try:
        new_start = services.parse_new_start(obj, payload.get("start"))
    except CalendarInputError as refused:
        return _bad_request(refused)
    # attempt() rolls a refusal back and puts its message here instead of flashing it on the next page.
    reply = SimpleNamespace(start=SimpleNamespace(errors=[]))
    with attempt(reply, "start") as outcome:
        services.move_activity(obj, new_start, version)
    if outcome.failed:
        return jsonify({"error": reply.start.errors[-1] if reply.start.errors else _("Not saved."),
                        "field": "start"}), outcome.status
    return jsonify({"id": obj.id, "version": obj.version, "subject": obj.subject})


@bp.route("/feed")
def feed_page() -> str:
    """The iCalendar feed: its state, and buttons to create (or regenerate) and revoke the address."""
    feed = services.active_feed(current_user.id)
    viewer = current_viewer()
    return render_template("calendars/feed.html", feed=feed, form=ConfirmForm(), token_url=None,
                           can_change=isinstance(viewer, Viewer) and not viewer.is_readonly)


def _confirmed_feed_change() -> None:
    """403 for an observer (or nobody), 400 without the form's CSRF token: before a feed change."""
    viewer = current_viewer()
    if not isinstance(viewer, Viewer) or viewer.is_readonly:
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)


@bp.post("/feed/new")
def feed_create() -> Any:
    """Create (or regenerate) the feed address; it is shown on this answer only."""
    _confirmed_feed_change()
    with attempt(category="warning") as outcome:
        token = services.create_feed()
    if outcome.failed:
        return redirect(url_for("calendars.feed_page"))
    token_url = url_for("calendars.feed", token=token, _external=True)
    flash(_("Your calendar feed address is below. Copy it now: it is shown only once."), "success")
    return render_template("calendars/feed.html", feed=services.active_feed(current_user.id), form=ConfirmForm(),
                           token_url=token_url, can_change=True)


@bp.post("/feed/revoke")
def feed_revoke() -> Any:
    """Revoke the feed address: calendar apps that use it get 404 from now on."""
    _confirmed_feed_change()
    with attempt(category="warning") as outcome:
        services.revoke_feed()
    if not outcome.failed:
        flash(_("Calendar feed revoked."), "success")
    return redirect(url_for("calendars.feed_page"))


@bp.route("/feed/<token>.ics")
@limiter.limit(lambda: current_app.config.get("CALENDAR_FEED_RATE_LIMIT", "60 per minute"))
def feed(token: str) -> Any:
    """The public .ics feed of one user's own activities; an unknown or revoked token is 404."""
    user = services.feed_owner(token)
    if user is None or not user.is_active:
        abort(404)
    # The feed reads as its owner would on their pages: the same visibility rule, never skipped.
    use_viewer(viewer_for(user))
    body = services.ics_bytes(user, services.feed_activities(user), request.host.split(":")[0] or "sandbox")
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = "inline; filename=calendar.ics"
    return response
