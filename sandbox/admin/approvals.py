"""The approval queue: pending users of the actor's classes, approved or rejected in bulk."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..boundary import attempt
from ..extensions import db
from ..oplog import current_actor
from ..org.models import Position, Role, Status, User
from ..org.scope import managed_users
from ..org.services import OrgError, approve_users, reject_user
from . import bp
from .common import as_id, position_choices
from .forms import ROLE_CHOICES, ApprovalForm


@bp.route("/approvals", methods=["GET", "POST"])
def approvals() -> Any:
    """The approval queue; a POST approves or rejects the chosen registrations."""
    pending = list(db.session.scalars(managed_users(current_actor()).where(User.status == Status.PENDING)))
    form = ApprovalForm()
    # Any managed user may be named: one already decided gets a clear message instead of "not a choice".
    decided_ok = {u.id for u in db.session.scalars(managed_users(current_actor()))}
    form.user_ids.choices = [(uid, str(uid)) for uid in decided_ok]
    form.position_id.choices = [(0, "—")] + position_choices(placeable_only=True)
    if request.method == "POST":
        # The service checks the position: one outside the actor's subtree gets its reason, not "not a choice".
        form.position_id.pre_validate = lambda _form: None  # type: ignore[method-assign]
    roles = ROLE_CHOICES if current_actor().role == Role.ADMIN else ROLE_CHOICES[:2]
    form.role.choices = roles
    if form.validate_on_submit():
        with attempt(form, "user_ids") as outcome:
            message = _decide(form)
        if not outcome.failed:
            flash(message, "success")
            return redirect(url_for("admin.approvals"))
        pending = list(db.session.scalars(managed_users(current_actor()).where(User.status == Status.PENDING)))
    status = 400 if form.errors else 200
    return render_template("admin/approvals.html", form=form, pending=pending), status


def _decide(form: ApprovalForm) -> str:
    """Approve or reject the chosen users as the form says; the message to flash when it succeeded."""
    users = [db.session.get(User, uid) for uid in form.user_ids.data]
    if form.decision.data != "approve":
        for user in users:
            reject_user(current_actor(), user, form.reason.data or "")
        return _("%(n)d registration(s) rejected.", n=len(users))
    position = db.session.get(Position, as_id(form.position_id.data))
    if position is None:
        raise OrgError(_("Choose the position to place the students on."), "position_id")
    books = approve_users(current_actor(), users, position, form.role.data)
    message = _("%(n)d user(s) approved onto %(p)s.", n=len(users), p=position.full_label)
    if books:
        message += " " + _("They joined the running scenario with their books (%(rows)s records).", rows=f"{books:,}")
    return message
