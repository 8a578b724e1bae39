"""The article form: title, class (instructors pick one of theirs), category, keywords, Markdown body."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..codes.services import choices

BODY_MAX = 20_000


def class_choices() -> list[tuple[int, str]]:
    """The classes an article may belong to: an instructor's classes, a student's own class."""
    from ..products.forms import class_choices as managed
    from ..products.services import class_names

    if getattr(current_user, "is_staff", False):
        return managed()
    class_id = getattr(current_user, "class_id", None)
    return list(class_names({class_id}).items()) if class_id else []


class ArticleForm(FlaskForm):
    """Create and edit an article; its labels are the article's field labels."""

    title = StringField(_l("Article title"), validators=[DataRequired(), Length(max=200)])
    class_id = SelectField(_l("Class"), coerce=int, validators=[DataRequired(message=_l("Choose a class."))])
    category = SelectField(_l("Category"), validators=[Optional()])
    keywords = StringField(_l("Keywords"), validators=[Optional(), Length(max=300)],
                           description=_l("Words people search for, separated by commas."))
    body = TextAreaField(_l("Body (Markdown)"), validators=[Optional(), Length(max=BODY_MAX)],
                         render_kw={"rows": 14})
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        obj = kwargs.get("obj")
        self.class_id.choices = class_choices()
        self.category.choices = choices("article_category", getattr(obj, "category", None), blank=True)
