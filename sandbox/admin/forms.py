"""Administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

ROLE_CHOICES = [
    ("student", _l("Student")),
    ("readonly", _l("Read-only observer")),
    ("instructor", _l("Instructor")),
    ("admin", _l("Administrator")),
]
KIND_CHOICES = [
    ("teacher", _l("Teacher")),
    ("class", _l("Class")),
    ("department", _l("Department")),
    ("position", _l("Position")),
]


class ApprovalForm(FlaskForm):
    """Approve the chosen registrations onto a position with a role, or reject them with a reason."""
    user_ids = SelectMultipleField(_l("Users"), coerce=int, validators=[InputRequired()])
    decision = SelectField(_l("Decision"), choices=[("approve", _l("Approve")), ("reject", _l("Reject"))])
    position_id = SelectField(_l("Position"), coerce=int, validators=[Optional()])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES[:2])
    reason = StringField(_l("Reason (for a rejection)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Apply"))


class UserForm(FlaskForm):
    """Edit a user: name, contact, role, position and status."""
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    student_number = StringField(_l("Student number"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=255)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    position_id = SelectField(_l("Position"), coerce=int, validators=[Optional()])
    status = SelectField(_l("Status"), choices=[("active", _l("Active")), ("disabled", _l("Disabled"))])
    submit = SubmitField(_l("Save"))


class NewUserForm(FlaskForm):
    """Add one active user on a position (a password is generated when none is given)."""
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=100)])
    student_number = StringField(_l("Student number"), validators=[Optional(), Length(max=32)])
    email = EmailField(_l("Email"), validators=[Optional(), Email(check_deliverability=False), Length(max=255)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    position_id = SelectField(_l("Position"), coerce=int, validators=[Optional()])
    password = PasswordField(_l("Initial password (empty: generate one, shown once)"),
                             validators=[Optional(), Length(max=200)])
    submit = SubmitField(_l("Add user"))


class RosterForm(FlaskForm):
    """Upload a roster CSV into one class."""
    class_id = SelectField(_l("Class"), coerce=int, validators=[InputRequired()])
    file = FileField(_l("Roster CSV"), validators=[FileRequired()])
    submit = SubmitField(_l("Import"))


class PositionForm(FlaskForm):
    """Add a node of some kind under a position of the tree."""
    parent_id = SelectField(_l("Under"), coerce=int)
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    join_code = StringField(_l("Join code (classes)"), validators=[Optional(), Length(max=32)])
    registration_open = BooleanField(_l("Open for registration (classes)"))
    submit = SubmitField(_l("Add"))


class RenameForm(FlaskForm):
    """Rename a position (a class: also its join code and registration)."""
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    join_code = StringField(_l("Join code (classes)"), validators=[Optional(), Length(max=32)])
    registration_open = BooleanField(_l("Open for registration (classes)"))
    submit = SubmitField(_l("Save"))


class ClassWizardForm(FlaskForm):
    """Create a class with its departments and one salesperson position in each."""
    parent_id = SelectField(_l("Under"), coerce=int)
    name = StringField(_l("Class name"), validators=[DataRequired(), Length(max=100)])
    departments = TextAreaField(
        _l("Departments, one per line"), validators=[DataRequired()],
        default="销售一部\n销售二部\n销售三部",
    )
    count = IntegerField(_l("Or: number of departments"), validators=[Optional(), NumberRange(min=1, max=30)])
    join_code = StringField(_l("Join code"), validators=[Optional(), Length(max=32)])
    registration_open = BooleanField(_l("Open for registration"), default=True)
    submit = SubmitField(_l("Create class"))


class SharingForm(FlaskForm):
    """Choose the class whose sharing modes are shown."""
    class_id = SelectField(_l("Class"), coerce=int)
    submit = SubmitField(_l("Save sharing modes"))


class GroupForm(FlaskForm):
    """Create a sharing group in one class."""
    class_id = SelectField(_l("Class"), coerce=int)
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Create group"))


class MemberForm(FlaskForm):
    """Add a user of the group's class to a sharing group."""
    user_id = SelectField(_l("Student"), coerce=int)
    submit = SubmitField(_l("Add member"))


class OrganizationForm(FlaskForm):
    """The organisation profile: name, contact, fiscal year, currency, language."""
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    fiscal_year_start = IntegerField(_l("Fiscal year starts in month"), validators=[InputRequired(), NumberRange(1, 12)])
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(min=3, max=3)])
    default_language = SelectField(_l("Default language"), choices=[("zh_Hans_CN", "简体中文"), ("en", "English")])
    submit = SubmitField(_l("Save"))
