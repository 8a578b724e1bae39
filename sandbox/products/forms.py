"""Product and category forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..numbers import BoundedDecimalField, BoundedIntegerField

NOT_NEGATIVE = NumberRange(min=0, message=_l("Must not be negative."))


def class_choices() -> list[tuple[int, str]]:
    """The classes whose catalogue the viewer maintains, by name."""
    from .services import class_names, managed_class_ids

    names = class_names(managed_class_ids())
    return sorted(names.items(), key=lambda item: item[1])


def category_choices(class_ids: set[int] | None = None, exclude_id: int | None = None,
                     blank: str = "—") -> list[tuple[int, str]]:
    """Categories as 'Class · Parent / Child' (the class named only when there are several)."""
    from .services import categories, category_paths, class_names

    rows = categories(class_ids)
    paths = category_paths(rows)
    names = class_names({c.class_id for c in rows})
    several = len(names) > 1
    result = [(c.id, f"{names[c.class_id]} · {paths[c.id]}" if several else paths[c.id])
              for c in rows if c.id != exclude_id]
    result.sort(key=lambda item: item[1])
    return [(0, blank), *result]


class ProductForm(FlaskForm):
    """The product form (instructors create and edit)."""

    class_id = SelectField(_l("Class"), coerce=int, validators=[DataRequired(message=_l("Choose a class."))])
    code = StringField(_l("Product code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Product name"), validators=[DataRequired(), Length(max=200)])
    category_id = SelectField(_l("Category"), coerce=int, validators=[Optional()])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)])
    list_price = BoundedDecimalField(_l("List price"), places=2, validators=[DataRequired(), NOT_NEGATIVE])
    cost = BoundedDecimalField(_l("Cost"), places=2, validators=[Optional(), NOT_NEGATIVE])
    active = BooleanField(_l("Active (offered on opportunities)"), default=True)
    stock_on_hand = BoundedIntegerField(_l("Stock on hand"), default=0, validators=[Optional(), NOT_NEGATIVE])
    reorder_level = BoundedIntegerField(_l("Reorder level"), default=0, validators=[Optional(), NOT_NEGATIVE])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])
    version = HiddenField()
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.class_id.choices = class_choices()
        self.category_id.choices = category_choices({c for c, _n in self.class_id.choices})


class CategoryForm(FlaskForm):
    """A category's name, parent and (for a top-level one) class."""

    name = StringField(_l("Category name"), validators=[DataRequired(), Length(max=100)])
    parent_id = SelectField(_l("Parent category"), coerce=int, validators=[Optional()])
    class_id = SelectField(_l("Class"), coerce=int, validators=[Optional()])
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, exclude_id: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        classes = class_choices()
        self.class_id.choices = classes
        self.parent_id.choices = category_choices({c for c, _n in classes}, exclude_id, blank=str(_l("(top level)")))
