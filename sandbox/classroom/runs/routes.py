"""/scenarios/: the scenarios on offer, and loading, resetting and undoing them for a class."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import to_utc
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from seed import ScenarioError, scenario_files
from seed import load_scenario as read_file

from ...boundary import attempt
from ...extensions import db
from ...numbers import db_id
from ...org.models import Role
from .. import scenarios_bp as bp
from ..grading.view import TEMPLATE_HELPERS, pick
from ..models import Run
from ..permissions import class_or_404, default_class, writable_classes
from ..refusals import ABOVE, add_details, on_form
from .forms import LoadForm, ResetForm, UndoForm
from .lookup import class_runs, class_students, current_class_run, student_reruns
from .services import LoadResult, can_undo, latest_run, load_scenario, reset_scenario, scenario_dir
from .services import undo_reset as undo_service


def _require_staff() -> None:
    if current_user.role not in (Role.ADMIN, Role.INSTRUCTOR):
        abort(403)


def catalogue() -> tuple[list[tuple[str, Any]], list[tuple[str, list[str]]]]:
    """(name, scenario) of every valid file, and (name, problems) of the invalid ones."""
    good, bad = [], []
    for path in scenario_files(scenario_dir()):
        try:
            good.append((path.stem, read_file(path)))
        except ScenarioError as exc:
            bad.append((path.stem, exc.lines()))
    return good, bad


def _forms(klass: Any, load: LoadForm | None = None, reset: ResetForm | None = None,
           undo: UndoForm | None = None) -> tuple[LoadForm, ResetForm, UndoForm]:
    good, _bad = catalogue()
    if load is None:
        load = LoadForm(formdata=None, class_id=klass.id)
        current = current_class_run(klass.id)
        load.scenario.data = current.scenario_name if current else None  # offer the class's scenario first
    load.scenario.choices = [(name, pick(s.title)) for name, s in good]
    reset = reset or ResetForm(formdata=None, class_id=klass.id)
    reset.student_id.choices = [(0, _("The whole class"))] + [
        (s.id, f"{s.display_name} ({s.username})") for s in class_students(klass.id)]
    undo = undo or UndoForm(formdata=None, class_id=klass.id)
    latest = latest_run(klass.id)
    for form in (load, reset, undo):
        form.class_id.data = klass.id
        form.expected_run.data = str(latest.id if latest else 0)
    return load, reset, undo


def undoable_reset(class_id: int) -> Run | None:
    """The reset an undo would take back. None after a class's first load: there is no earlier data to put back
    (the CLI can still take a first load back)."""
    run = can_undo(class_id)
    if run is None or run.student_id is not None:
        return run
    earlier = db.session.scalar(select(Run.id).where(
        Run.class_id == class_id, Run.id < run.id, Run.undone_at.is_(None)).limit(1))
    return run if earlier is not None else None


def _page(klass: Any, status: int = 200, **forms: Any) -> tuple[str, int]:
    load, reset, undo = _forms(klass, **forms)
    good, bad = catalogue()
    return render_template(
        "classroom/scenarios.html", klass=klass, classes=writable_classes(current_user), scenarios=good, invalid=bad,
        run=current_class_run(klass.id), runs=class_runs(klass.id), reruns=student_reruns(klass.id),
        undoable=undoable_reset(klass.id),
        students=len(class_students(klass.id)), load_form=load, reset_form=reset, undo_form=undo, **TEMPLATE_HELPERS,
        url_endpoints=set(current_app.view_functions),
    ), status


@bp.get("/")
def index() -> Any:
    """Scenarios on offer and the chosen class's runs."""
    _require_staff()
    class_id = request.args.get("class_id", type=db_id)
    klass = class_or_404(class_id, write=True) if class_id else default_class(write=True)
    if klass is None:
        good, bad = catalogue()
        return render_template("classroom/scenarios.html", klass=None, classes=[], scenarios=good, invalid=bad,
                               url_endpoints=set(current_app.view_functions), **TEMPLATE_HELPERS)
    return _page(klass)


def _done(result: LoadResult, message: str) -> Response:
    flash(message, "success")
    for warning in result.warnings:
        flash(warning, "warning")
    return redirect(url_for("scenarios.index", class_id=result.run.class_id))


def _refused(klass: Any, outcome: attempt, form: Any, key: str) -> tuple[str, int]:
    """The page again with the refusal (rolled back by `attempt`) and its details on the form."""
    add_details(form, outcome.error)
    return _page(klass, 400, **{key: form})


@bp.post("/load")
def load() -> Any:
    """Load a scenario into a class (a new class run for every student)."""
    _require_staff()
    form = LoadForm()
    klass = class_or_404(form.class_id.data, write=True)
    good, _bad = catalogue()
    form.scenario.choices = [(name, name) for name, _s in good]
    if not form.validate():
        return _page(klass, 400, load=form)
    deadline = to_utc(form.deadline.data) if form.deadline.data else None
    with attempt(on_form(form), ABOVE) as outcome:
        result = load_scenario(klass, form.scenario.data, deadline=deadline, expected_run_id=form.expected())
    if outcome.failed:
        return _refused(klass, outcome, form, "load")
    return _done(result, _("Loaded %(scenario)s into %(klass)s: %(rows)s records for %(students)s students in "
                           "%(seconds)s s.", scenario=form.scenario.data, klass=klass.name, rows=f"{result.rows:,}",
                           students=len(class_students(klass.id)), seconds=f"{result.seconds:.1f}"))


@bp.post("/reset")
def reset() -> Any:
    """Start the current scenario again, for the whole class or one student."""
    _require_staff()
    form = ResetForm()
    klass = class_or_404(form.class_id.data, write=True)
    students = {s.id: s for s in class_students(klass.id)}
    form.student_id.choices = [(0, "")] + [(sid, "") for sid in students]
    if not form.validate():
        return _page(klass, 400, reset=form)
    student = students.get(form.student_id.data)
    with attempt(on_form(form), ABOVE) as outcome:
        result = reset_scenario(klass, student, expected_run_id=form.expected())
    if outcome.failed:
        return _refused(klass, outcome, form, "reset")
    who = student.display_name if student else klass.name
    return _done(result, _("Reset %(who)s: %(rows)s records in %(seconds)s s; a new run has started.", who=who,
                           rows=f"{result.rows:,}", seconds=f"{result.seconds:.1f}"))


@bp.post("/undo")
def undo() -> Any:
    """Put back the data the latest load or reset replaced."""
    _require_staff()
    form = UndoForm()
    klass = class_or_404(form.class_id.data, write=True)
    if not form.validate():
        return _page(klass, 400, undo=form)
    with attempt(on_form(form), ABOVE) as outcome:
        run = undo_service(klass, expected_run_id=form.expected())
    if outcome.failed:
        return _refused(klass, outcome, form, "undo")
    flash(_("Run #%(id)s was undone: the data from before it is back.", id=run.id), "success")
    return redirect(url_for("scenarios.index", class_id=klass.id))
