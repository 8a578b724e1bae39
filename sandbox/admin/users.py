"""Users of the actor's subtree: list, edit, disable, password reset; roster import; organisation."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ..boundary import attempt
from ..extensions import db
from ..numbers import db_id
from ..oplog import current_actor
from ..org.accounts import add_user, delete_user
from ..org.models import Position, Role, Status, User
from ..org.roster import check_roster, import_roster
from ..org.scope import managed_classes, managed_users
from ..org.services import get_organization, issue_password_reset, update_organization, update_user
from ..records.export import safe_cell
from ..records.forms import ConfirmForm
from ..records.views import like_pattern
from . import bp
from .common import as_id, managed_user_or_404, position_choices
from .forms import ROLE_CHOICES, NewUserForm, OrganizationForm, RosterForm, UserForm


@bp.get("/users")
def users() -> str:
    """The users the actor manages, filtered by status, class and name."""
    stmt = managed_users(current_actor())
    status = request.args.get("status", "")
    if status in set(Status):
        stmt = stmt.where(User.status == status)
    if class_id := as_id(request.args.get("class_id", type=db_id)):
        stmt = stmt.where(User.class_id == class_id)
    if q := request.args.get("q", "").replace("\x00", "").strip()[:64]:  # PostgreSQL text cannot hold NUL
        pattern = like_pattern(q)
        stmt = stmt.where(or_(User.username.ilike(pattern, escape="\\"), User.display_name.ilike(pattern, escape="\\")))
    rows = list(db.session.scalars(stmt.limit(500)))
    return render_template("admin/users.html", rows=rows, classes=managed_classes(current_actor()), statuses=list(Status))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int) -> Any:
    """Edit a managed user (moving them to another class moves their records)."""
    user = managed_user_or_404(user_id)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.role.choices = ROLE_CHOICES if current_actor().role == Role.ADMIN else ROLE_CHOICES[:2]
    form.position_id.choices = [(0, "—")] + position_choices()
    if request.method == "GET":
        form.position_id.data = user.position_id or 0
        if user.status not in (Status.ACTIVE, Status.DISABLED):
            form.status.choices = [(user.status, user.status), *form.status.choices]
    if form.validate_on_submit():
        with attempt(form, "status") as outcome:
            update_user(
                current_actor(), user, display_name=form.display_name.data, email=form.email.data, role=form.role.data,
                position=db.session.get(Position, form.position_id.data or 0), status=form.status.data,
                student_number=form.student_number.data,
            )
        if not outcome.failed:
            flash(_("User saved."), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_edit.html", form=form, user=user, reset_form=ConfirmForm()), (
        400 if form.errors else 200
    )


@bp.route("/users/new", methods=["GET", "POST"])
def user_new() -> Any:
    """Add one user to the actor's subtree; a generated password is shown once."""
    form = NewUserForm()
    form.role.choices = ROLE_CHOICES if current_actor().role == Role.ADMIN else ROLE_CHOICES[:2]
    form.position_id.choices = [(0, "—")] + position_choices()
    if request.method == "POST":
        # The service checks the position: one outside the actor's subtree gets its reason, not "not a choice".
        form.position_id.pre_validate = lambda _form: None  # type: ignore[method-assign]
    if form.validate_on_submit():
        with attempt(form, "username") as outcome:
            user, generated = add_user(
                current_actor(), form.username.data, form.display_name.data, form.role.data,
                db.session.get(Position, as_id(form.position_id.data)), email=form.email.data,
                student_number=form.student_number.data, password=form.password.data or None)
        if not outcome.failed:
            flash(_("User %(name)s added on %(position)s.", name=user.display_name, position=user.position.full_label),
                  "success")
            if generated:
                return render_template("admin/password_issued.html", user=user, temporary=generated)
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_new.html", form=form), (400 if form.errors else 200)


@bp.post("/users/<int:user_id>/delete")
def user_delete(user_id: int) -> Any:
    """Delete a managed user, or disable and anonymise one the log or records still name."""
    user = managed_user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    name = user.display_name
    with attempt() as outcome:
        removed = delete_user(current_actor(), user)
    if outcome.failed:
        return redirect(url_for("admin.user_edit", user_id=user_id))
    if removed:
        flash(_("User %(name)s deleted.", name=name), "success")
    else:
        flash(_("%(name)s appears in the operation log or owns records, so the account was disabled and anonymised "
                "instead: their grades, records and log entries stay.", name=name), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/password-reset")
def user_password_reset(user_id: int) -> Any:
    """Issue a one-time temporary password, shown once to the instructor."""
    user = managed_user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt() as outcome:
        temporary = issue_password_reset(current_actor(), user)
    if outcome.failed:
        return redirect(url_for("admin.user_edit", user_id=user_id))
    # Shown once, to the instructor (no SMTP configured): they hand it over in class.
    return render_template("admin/password_issued.html", user=user, temporary=temporary)


@bp.route("/roster", methods=["GET", "POST"])
def roster() -> Any:
    """Upload a roster CSV: every row checked, all imported or none; the passwords shown once."""
    form = RosterForm()
    form.class_id.choices = [(c.id, c.name) for c in managed_classes(current_actor())]
    errors: list[tuple[int, str]] = []
    if form.validate_on_submit():
        klass = db.session.get(Position, form.class_id.data)
        check = check_roster(form.file.data.read(), klass)
        if check.errors:
            errors = check.errors
            form.file.errors.append(_("Fix the rows listed below; nothing was imported."))
        else:
            with attempt(form, "file") as outcome:
                created = import_roster(current_actor(), klass, check)
            if outcome.failed:
                return render_template("admin/roster.html", form=form, errors=errors), 400
            sheet = io.StringIO()
            writer = csv.writer(sheet)
            writer.writerow(["username", "name", "student_number", "department", "initial_password"])
            for user, password in created:
                writer.writerow([safe_cell(v) for v in (user.username, user.display_name, user.student_number or "",
                                                        user.position.path_label if user.position else "", password)])
            return render_template("admin/roster_done.html", klass=klass, created=created, sheet="\ufeff" + sheet.getvalue())
    return render_template("admin/roster.html", form=form, errors=errors), (400 if form.errors else 200)


@bp.route("/organization", methods=["GET", "POST"])
def organization() -> Any:
    """The organisation profile (administrators only)."""
    if current_actor().role != Role.ADMIN:
        abort(403)
    org = get_organization()
    form = OrganizationForm(obj=org) if request.method == "GET" else OrganizationForm()
    if form.validate_on_submit():
        keys = ("name", "address", "phone", "fiscal_year_start", "currency", "default_language")
        data = {k: getattr(form, k).data for k in keys}
        data["currency"] = data["currency"].upper()
        update_organization(current_actor(), data)
        flash(_("Organisation profile saved."), "success")
        return redirect(url_for("admin.organization"))
    return render_template("admin/organization.html", form=form), (400 if form.errors else 200)


def active_count(class_id: int) -> int:
    """How many users belong to a class."""
    return db.session.scalar(select(func.count()).select_from(User).where(User.class_id == class_id)) or 0
