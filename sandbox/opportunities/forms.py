"""Opportunity form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..codes.services import choices
from ..numbers import BoundedDecimalField
from ..records.lookups import visible_choices
from ..records.picker import PickerSelect


class OpportunityForm(FlaskForm):
    """The opportunity form (the generic create and edit pages)."""

    name = StringField(_l("Opportunity name"), validators=[DataRequired(), Length(max=200)])
    account_id = SelectField(_l("Account"), coerce=int, widget=PickerSelect(), validators=[Optional()])
    type = SelectField(_l("Type"), validators=[Optional()])
    stage = SelectField(_l("Stage"))
    amount = BoundedDecimalField(_l("Amount"), places=2,
                          validators=[Optional(), NumberRange(min=0, message=_l("Must not be negative."))])
    close_date = DateField(_l("Close date"), validators=[DataRequired()])
    next_step = StringField(_l("Next step"), validators=[Optional(), Length(max=300)])
    source = SelectField(_l("Source"), validators=[Optional()])
    lost_reason = SelectField(_l("Closed-lost reason"), validators=[Optional()])
    # Blank: the forecast follows the stage (sandbox/forecasts/categories.py).
    forecast_category = SelectField(_l("Forecast category"), validators=[Optional()],
                                    description=_l("Leave blank to follow the stage."))
    campaign_id = SelectField(_l("Campaign"), coerce=int, widget=PickerSelect(), validators=[Optional()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from ..accounts.models import Account
        from ..campaigns.models import Campaign

        obj = kwargs.get("obj")
        self.account_id.choices = visible_choices(Account, getattr(obj, "account_id", None) or kwargs.get("account_id"))
        self.campaign_id.choices = visible_choices(Campaign, getattr(obj, "campaign_id", None)
                                                   or kwargs.get("campaign_id"))
        self.stage.choices = choices("opportunity_stage", getattr(obj, "stage", None))
        self.type.choices = choices("opportunity_type", getattr(obj, "type", None), blank=True)
        self.source.choices = choices("lead_source", getattr(obj, "source", None), blank=True)
        self.lost_reason.choices = choices("closed_lost_reason", getattr(obj, "lost_reason", None), blank=True)
        self.forecast_category.choices = choices("forecast_category", getattr(obj, "forecast_category", None),
                                                 blank=True)
