"""Campaign forms: the campaign itself, and adding, updating and importing its members."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..codes.services import choices
from ..numbers import BoundedDecimalField, BoundedIntegerField

NOT_NEGATIVE = NumberRange(min=0, message=_l("Must not be negative."))
MEMBER_TYPES = (("lead", _l("Lead")), ("contact", _l("Contact")))


class CampaignForm(FlaskForm):
    """The campaign's create and edit form (SPEC §5.10); its labels are the campaign's field labels."""

    name = StringField(_l("Campaign name"), validators=[DataRequired(), Length(max=200)])
    type = SelectField(_l("Campaign type"), validators=[Optional()])
    status = SelectField(_l("Campaign status"))
    start_date = DateField(_l("Start date"), validators=[Optional()])
    end_date = DateField(_l("End date"), validators=[Optional()])
    budget = BoundedDecimalField(_l("Budget"), places=2, validators=[Optional(), NOT_NEGATIVE])
    expected_revenue = BoundedDecimalField(_l("Expected revenue"), places=2, validators=[Optional(), NOT_NEGATIVE])
    actual_cost = BoundedDecimalField(_l("Actual cost"), places=2, validators=[Optional(), NOT_NEGATIVE])
    expected_response = BoundedIntegerField(
        _l("Expected response (%)"),
        validators=[Optional(), NumberRange(min=0, max=100, message=_l("Give a percentage from 0 to 100."))])
    audience = StringField(_l("Target audience"), validators=[Optional(), Length(max=500)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        obj = kwargs.get("obj")
        self.type.choices = choices("campaign_type", getattr(obj, "type", None), blank=True)
        self.status.choices = choices("campaign_status", getattr(obj, "status", None))

    def validate_end_date(self, field: Any) -> None:
        """An end before the start is refused next to the end date (the service checks it again)."""
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end date must not be before the start date."))


class AddMemberForm(FlaskForm):
    """One lead or contact, picked among those the viewer may see."""

    member_type = SelectField(_l("Member type"), choices=MEMBER_TYPES)
    lead_id = SelectField(_l("Lead"), coerce=int, validators=[Optional()])
    contact_id = SelectField(_l("Contact"), coerce=int, validators=[Optional()])
    status = SelectField(_l("Response"))
    submit = SubmitField(_l("Add member"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from ..contacts.models import Contact
        from ..leads.models import Lead
        from ..records.lookups import visible_choices

        super().__init__(*args, **kwargs)
        self.lead_id.choices = visible_choices(Lead)
        self.contact_id.choices = visible_choices(Contact)
        self.status.choices = choices("member_status")
        # The ids are checked by the service (a forged id gets "choose a lead you can see", not a bare 400).
        self.lead_id.pre_validate = self.contact_id.pre_validate = lambda _form: None  # type: ignore[method-assign]


class FilterMembersForm(FlaskForm):
    """Add every visible lead matching a filter (status, source, industry), or every contact of an account."""

    member_type = SelectField(_l("Member type"), choices=MEMBER_TYPES)
    lead_status = SelectField(_l("Lead status"), validators=[Optional()])
    lead_source = SelectField(_l("Source"), validators=[Optional()])
    industry = SelectField(_l("Industry"), validators=[Optional()])
    account_id = SelectField(_l("Account"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Add all that match"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from ..accounts.models import Account
        from ..records.lookups import visible_choices

        super().__init__(*args, **kwargs)
        self.lead_status.choices = choices("lead_status", blank=True)
        self.lead_source.choices = choices("lead_source", blank=True)
        self.industry.choices = choices("industry", blank=True)
        self.account_id.choices = visible_choices(Account)
        self.account_id.pre_validate = lambda _form: None  # type: ignore[method-assign]


class MemberStatusForm(FlaskForm):
    """A member's new response status."""

    status = SelectField(_l("Response"))
    submit = SubmitField(_l("Save"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.status.choices = choices("member_status")


class ImportMembersForm(FlaskForm):
    """A CSV or XLSX file of members: type, id, email or name, and an optional response status."""

    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file."))])
    submit = SubmitField(_l("Import members"))
