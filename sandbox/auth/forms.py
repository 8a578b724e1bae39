"""Sign-in, registration, password and preference forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp, ValidationError

from ..extensions import db
from ..org.models import Position, Status, User
from .passwords import password_problem
from .usernames import username_is

USERNAME = Regexp(r"^[A-Za-z0-9_.\-]{3,64}$", message=_l("Use 3–64 letters, digits, dots, dashes or underscores."))


class LoginForm(FlaskForm):
    """Sign in with username and password."""
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Sign in"))


class RegisterForm(FlaskForm):
    """Register as a student of the class whose join code is given."""
    username = StringField(_l("Username"), filters=[lambda v: v.strip() if isinstance(v, str) else v],
                           validators=[DataRequired(), USERNAME])
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    student_number = StringField(_l("Student number"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False), Length(max=255)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat password"), validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))]
    )
    class_id = SelectField(_l("Class"), coerce=str, validators=[Optional()])
    join_code = StringField(_l("Or class join code"), validators=[Optional(), Length(max=32)])
    submit = SubmitField(_l("Register"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        open_classes = db.session.scalars(
            select(Position).where(Position.kind == "class", Position.registration_open).order_by(Position.name)
        )
        self.class_id.choices = [("", "—")] + [(str(p.id), p.name) for p in open_classes]

    def validate_username(self, field) -> None:
        """Refuse a malformed or taken username."""
        # Taken also when it differs only by case or spaces from an existing one ("Alice", "alice "); a rejected
        # registration gives its username and email up to a new one (org.services.release_rejected).
        taken = db.session.scalar(select(User.id).where(username_is(field.data), User.status != Status.REJECTED))
        if taken:
            raise ValidationError(_l("This username is taken; choose another."))

    def validate_email(self, field) -> None:
        """Refuse an email another account uses."""
        taken = db.session.scalar(select(User.id).where(func.lower(User.email) == field.data.strip().lower(),
                                                        User.status != Status.REJECTED))
        if taken:
            raise ValidationError(_l("An account with this email exists already."))

    def validate_password(self, field) -> None:
        """Refuse a password the policy does not accept."""
        problem = password_problem(field.data, self.username.data or "")
        if problem:
            raise ValidationError(problem)

    def validate(self, extra_validators=None) -> bool:
        """Validate the fields, then find the chosen class by join code or list (an unknown code counts for the throttle)."""
        ok = super().validate(extra_validators)
        code = (self.join_code.data or "").strip()
        if code:
            klass = db.session.scalar(
                select(Position).where(Position.kind == "class", func.upper(Position.join_code) == code.upper())
            )
            if klass is None:
                self.join_code_refused = True  # counted by the join-code throttle (auth/routes.py)
                unknown = _l("No class has this join code. Check it with your instructor.")
                self.join_code.errors = [*self.join_code.errors, unknown]
                return False
            self.chosen_class = klass
        elif self.class_id.data:
            if self.class_id.data not in {value for value, _label in self.class_id.choices}:
                # A forged or stale value: the field already says it is not a choice; never look it up.
                return False
            self.chosen_class = db.session.get(Position, int(self.class_id.data))
        else:
            self.class_id.errors = [*self.class_id.errors, _l("Choose your class or type its join code.")]
            return False
        return ok

    chosen_class: Position | None = None
    join_code_refused = False


class PasswordForm(FlaskForm):
    """Change one's own password (the current one, the new one twice)."""
    old_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat new password"), validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))]
    )
    submit = SubmitField(_l("Change password"))


class ProfileForm(FlaskForm):
    """One's own name, email, interface language and email signature."""
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=255)])
    locale = SelectField(_l("Language"), choices=[("zh_Hans_CN", "简体中文"), ("en", "English")])
    email_signature = TextAreaField(_l("Email signature"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Save"))
