"""Where a refused teaching action is shown on its form, for `boundary.attempt` (shared by grading and runs).

`attempt(form, field)` puts the refusal on `form.<name>` when the form has that attribute, else flashes
it. The gradebook and scenario pages show a refusal next to a field the user can see and above the form
otherwise (hidden fields such as the run or the objective carry no visible error), so they hand
`attempt` the form as `on_form(form)` and `ABOVE` as the default field.
"""

from __future__ import annotations

from typing import Any

from ..errors import ServiceError

ABOVE = "__above__"
HIDDEN = frozenset({"run", "objective_id", "class_id", "expected_run", "csrf_token"})


class _Above:
    """Stands in for a field: errors given to it are shown above the form (its `form_errors`)."""

    def __init__(self, form: Any) -> None:
        self.form = form

    @property
    def errors(self) -> list[str]:
        """The errors above the form."""
        return list(self.form.form_errors)

    @errors.setter
    def errors(self, value: list[str]) -> None:
        self.form.form_errors[:] = value


class _OnForm:
    """The form as `attempt` sees it: visible fields by name, anything else above the form."""

    def __init__(self, form: Any) -> None:
        self._form = form

    def __getattr__(self, name: str) -> Any:
        field = getattr(self._form, name, None) if name not in HIDDEN else None
        return field if field is not None and hasattr(field, "errors") else _Above(self._form)


def on_form(form: Any) -> Any:
    """`form` for `attempt(on_form(form), ABOVE)`: a refusal lands next to its visible field, else above."""
    return _OnForm(form)


def add_details(form: Any, error: ServiceError | None) -> None:
    """Append the error's detail lines (a scenario file's problems) where its message was put."""
    details = list(getattr(error, "details", None) or [])
    if error is None or not details:
        return
    _OnForm(form).__getattr__(error.field or ABOVE).errors += details
