"""Sign-in, registration, sign-out, password and profile pages."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from ..boundary import attempt, keep_changes
from ..extensions import db, limiter
from ..i18n import select_locale
from ..oplog import current_actor
from ..org.models import Status, User
from ..records.forms import ConfirmForm
from . import bp, services
from .forms import LoginForm, PasswordForm, ProfileForm, RegisterForm
from .passwords import verify_sign_in
from .usernames import normalize_username, username_is


def _failed_sign_in(response: Any) -> bool:
    """Only refused sign-ins count against the throttles."""
    return request.method == "POST" and response.status_code != 302


def _throttle_key() -> str:
    # The same normalisation as the lookup: "studentA " is the account "studenta", and its lockout.
    return f"{request.remote_addr}|{normalize_username(request.form.get('username'))[:64]}"


def _address() -> str:
    return request.remote_addr or ""


def _join_code_refused(response: Any) -> bool:
    return bool(g.get("join_code_refused"))


def _safe_next(target: str | None) -> str:
    # Only a path of this site. Browsers read "\\" as "/" and drop tabs and newlines, so "/\t/evil.com"
    # would leave the site: any backslash or control character is refused as well as "//".
    if not target or any(c == "\\" or ord(c) < 32 or ord(c) == 127 for c in target):
        return url_for("home.index")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"], key_func=_throttle_key, methods=["POST"],
    deduct_when=_failed_sign_in, scope="sign-in",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_ADDRESS_RATE_LIMIT"], key_func=_address, methods=["POST"],
    deduct_when=_failed_sign_in, scope="sign-in-address",
)
def login() -> Any:
    """Sign in; a refused sign-in answers 401 and is recorded in the log."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip()  # as typed, for the log; matched normalised
        user = db.session.scalar(select(User).where(username_is(username)))
        message = None
        if not verify_sign_in(user, form.password.data):
            message, reason = _("Wrong username or password."), "credentials"
        elif user.status == Status.PENDING:
            message, reason = _("Your account awaits approval by your instructor. Try again once approved."), "pending"
        elif user.status == Status.REJECTED:
            message = _("Your registration was rejected: %(reason)s. You may register again with the same username "
                        "and email.", reason=user.reject_reason or _("no reason given"))
            reason = "rejected"
        elif user.status == Status.DISABLED:
            message, reason = _("This account is disabled. Ask your instructor."), "disabled"
        if message:
            services.record_failed_login(username, reason)
            keep_changes()  # the refusal answers 401, yet its log entry stays
            if reason == "pending":
                # Nothing typed wrong: where the registration stands, shown as information, not as a field error.
                flash(message, "info")
            else:
                form.password.errors.append(message)
            return render_template("auth/login.html", form=form), 401
        # A fresh session at sign-in: nothing from before (fixation) survives.
        session.clear()
        login_user(user)
        services.record_login(user)
        if user.must_change_password:
            flash(_("Please choose your own password now."), "info")
            return redirect(url_for("auth.password"))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), (400 if form.errors else 200)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], key_func=_address, methods=["POST"],
               scope="register")
@limiter.limit(lambda: current_app.config["JOIN_CODE_RATE_LIMIT"], key_func=_address, methods=["POST"],
               deduct_when=_join_code_refused, scope="join-code")
def register() -> Any:
    """Register as a pending student of the class whose join code is given."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = RegisterForm()
    valid = form.validate_on_submit()
    g.join_code_refused = form.join_code_refused
    if valid:
        services.register_user(
            form.username.data, form.display_name.data, form.email.data, form.password.data,
            form.chosen_class, form.student_number.data,
        )
        return render_template("auth/registered.html", klass=form.chosen_class)
    return render_template("auth/register.html", form=form), (400 if form.errors else 200)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    """Ask to confirm (GET); sign out everywhere (POST)."""
    if request.method == "GET":
        return render_template("auth/logout.html", form=ConfirmForm())
    form = ConfirmForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        # Bumps the session version: this cookie, a copy of it and the user's other sessions all end.
        services.record_logout(current_actor())
        logout_user()
        session.clear()
        flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def password() -> Any:
    """Change one's own password (the current one is required)."""
    form = PasswordForm()
    if form.validate_on_submit():
        with attempt(form, "password") as outcome:
            services.change_password(current_actor(), form.old_password.data, form.password.data)
        if outcome.failed:
            return render_template("auth/password.html", form=form), 400
        login_user(current_user._get_current_object())  # keep this session, with the new version
        flash(_("Your password was changed."), "success")
        return redirect(url_for("home.index"))
    return render_template("auth/password.html", form=form), (400 if form.errors else 200)


@bp.route("/profile", methods=["GET", "POST"])
def profile() -> Any:
    """Edit one's own name, email, language and email signature."""
    user = current_actor()
    form = ProfileForm(obj=user) if request.method == "GET" else ProfileForm()
    if request.method == "GET" and not user.locale:
        # No saved choice yet: preselect the language the page is shown in, so saving keeps it.
        form.locale.data = select_locale()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        taken = email and db.session.scalar(select(User.id).where(func.lower(User.email) == email, User.id != user.id))
        if taken:
            form.email.errors.append(_("An account with this email exists already."))
        else:
            services.update_profile(user, form.display_name.data, email, form.locale.data, form.email_signature.data)
            flash(_("Preferences saved."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form), (400 if form.errors else 200)


@bp.get("/language/<code>")
def language(code: str) -> Any:
    """Choose the interface language before signing in (kept in a cookie)."""
    response = redirect(_safe_next(request.args.get("next")))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
