"""/grading/: the gradebook (students × objectives), one student's evidence and timeline, overrides and
deadline extensions, and the grade exports.

Who: staff read and write their classes' pages; an observer reads their own class's pages (no forms);
students are refused (403): their page is /me/progress. Another class's student or class: 404.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ...boundary import attempt
from ...extensions import db
from ...oplog import LogEntry
from ...org.models import Position, Role, User
from .. import grading_bp
from ..models import DeadlineExtension, Run
from ..permissions import refuse_students, student_or_404, writable_classes
from ..refusals import ABOVE, on_form
from ..runs.lookup import class_runs, department_of
from .export import MIMETYPES, export, filename
from .forms import ClearOverrideForm, ExtensionForm, OverrideForm, unique_ids
from .gradebook import student_row, timeline
from .rows import averages, gradebook_rows
from .services import clear_override, extend_deadline, set_override
from .view import TEMPLATE_HELPERS, format_points, load_book, pick, pick_run, read_query


def _refuse_readers() -> None:
    """Grading actions are for staff: students and observers get 403 whatever the ids."""
    if current_user.role not in (Role.ADMIN, Role.INSTRUCTOR):
        abort(403)


@grading_bp.get("/")
def index() -> str:
    """The gradebook of one class run."""
    refuse_students()
    query = read_query(request.args)
    book = load_book(query)
    drawn = {"row_html": gradebook_rows(book), "averages": averages(book)} if book is not None else {}
    return render_template("classroom/gradebook.html", q=query, book=book, **drawn,
                           has_activity="grading.activity" in current_app.view_functions,
                           has_scenarios="scenarios.index" in current_app.view_functions, **TEMPLATE_HELPERS)


def _export(fmt: str) -> Response:
    refuse_students()
    query = read_query(request.args)
    book = load_book(query)
    if book is None:
        flash(_("There are no grades to export: no scenario has been loaded into this class yet."), "warning")
        return redirect(url_for("grading.index", **query.args()))  # type: ignore[return-value]
    data = export(book, fmt)
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f"attachment; filename={filename(book, fmt)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@grading_bp.post("/export.csv")
def export_csv() -> Response:
    """The gradebook as shown (class, run, department, sort) as CSV."""
    return _export("csv")


@grading_bp.post("/export.xlsx")
def export_xlsx() -> Response:
    """The gradebook as shown as an Excel workbook."""
    return _export("xlsx")


# -- one student ---------------------------------------------------------------------------------------------------

def _forms(run: Run, row: Any, extension: DeadlineExtension | None,
           failed: tuple[str, str, Any] | None) -> dict[str, Any]:
    """Prefilled forms for every objective and the deadline; the form that failed keeps what was typed."""
    overrides, clears = {}, {}
    for objective in run.scenario.objectives:
        cell = row.cells[objective.id]
        if failed is not None and failed[0] == "override" and failed[1] == objective.id:
            overrides[objective.id] = unique_ids(failed[2], objective.id)
        else:
            override = cell.override
            overrides[objective.id] = unique_ids(OverrideForm(
                formdata=None, run=run.id, objective_id=objective.id,
                points=format_points(override.points) if override else "",
                comment=override.comment if override else ""), objective.id)
        if cell.override is not None:
            clears[objective.id] = unique_ids(ClearOverrideForm(formdata=None, run=run.id, objective_id=objective.id),
                                              f"clear-{objective.id}")
    if failed is not None and failed[0] == "extension":
        extend = failed[2]
    else:
        extend = ExtensionForm(formdata=None, run=run.id, deadline=row.deadline,
                               reason=extension.reason if extension else "")
    return {"override_forms": overrides, "clear_forms": clears, "extension_form": extend}


def _student_page(student: User, raw_run: str | None, failed: tuple[str, str, Any] | None = None,
                  problems: list[str] | None = None, status: int = 200) -> tuple[str, int]:
    problems = list(problems or [])
    klass = db.session.get(Position, student.class_id)
    runs = class_runs(klass.id)
    run = pick_run(runs, raw_run, klass.id, problems)
    can_write = klass.id in {c.id for c in writable_classes(current_user)}
    context: dict[str, Any] = {"student": student, "klass": klass, "department": department_of(student), "runs": runs,
                               "run": run, "can_write": can_write, "problems": problems, **TEMPLATE_HELPERS}
    if run is not None:
        row = student_row(run, student, evidence=True)
        ids = {i for cell in row.cells.values() for i in cell.outcome.entry_ids}
        entries = {e.id: e for e in db.session.scalars(
            select(LogEntry).where(LogEntry.id.in_(ids)).execution_options(skip_visibility=True))} if ids else {}
        extension = db.session.scalar(select(DeadlineExtension).where(
            DeadlineExtension.run_id == run.id, DeadlineExtension.student_id == student.id))
        context.update(row=row, entries=entries, extension=extension, timeline=timeline(run, student),
                       objectives=run.scenario.objectives)
        if can_write:
            context.update(_forms(run, row, extension, failed))
    return render_template("classroom/student.html", **context), status


@grading_bp.get("/students/<int:student_id>")
def student(student_id: int) -> tuple[str, int]:
    """One student's points per objective with the evidence, their deadline and their action timeline."""
    refuse_students()
    return _student_page(student_or_404(student_id), request.args.get("run"))


def _post_target(student_id: int) -> tuple[User, Run | None]:
    """The student (of a class the user grades) and the class run the form names (else the current one)."""
    _refuse_readers()
    student = student_or_404(student_id, write=True)
    raw = request.form.get("run", "").strip()
    runs = class_runs(student.class_id)
    wanted = {str(r.id): r for r in runs}.get(raw) if raw else None
    if wanted is None and not raw:
        wanted = pick_run(runs, None, student.class_id, [])
    return student, wanted


def _back(student: User, run: Run | None, anchor: str | None = None) -> Any:
    return redirect(url_for("grading.student", student_id=student.id, run=run.id if run else None, _anchor=anchor))


def _no_run(student: User) -> Any:
    if request.form.get("run", "").strip():
        flash(_("That scenario run does not exist in this class; nothing was changed."), "danger")
    else:
        flash(_("No scenario has been loaded into this class yet: there is nothing to grade."), "warning")
    return _back(student, None)


@grading_bp.post("/students/<int:student_id>/override")
def override(student_id: int) -> Any:
    """Set an objective's points for the student, with a comment (a logged teacher action)."""
    student, run = _post_target(student_id)
    if run is None:
        return _no_run(student)
    form = OverrideForm()
    objective_id = (form.objective_id.data or "").strip()
    if form.validate_on_submit():
        with attempt(on_form(form), ABOVE) as outcome:
            set_override(run, student, objective_id, form.points.data, form.comment.data)
        if not outcome.failed:
            flash(_("%(name)s now has %(points)s points on “%(objective)s”.", name=student.display_name,
                    points=format_points(form.points.data.strip().replace(",", ".")),
                    objective=_title(run, objective_id)), "success")
            return _back(student, run, f"objective-{objective_id}")
    return _student_page(student, str(run.id), ("override", objective_id, form), form.form_errors, 400)


@grading_bp.post("/students/<int:student_id>/clear-override", endpoint="clear_override")
def clear_override_view(student_id: int) -> Any:
    """Remove an override: the automatic points count again."""
    student, run = _post_target(student_id)
    if run is None:
        return _no_run(student)
    form = ClearOverrideForm()
    objective_id = (form.objective_id.data or "").strip()
    if form.validate_on_submit():
        with attempt() as outcome:
            clear_override(run, student, objective_id)
        if not outcome.failed:
            flash(_("The override on “%(objective)s” was removed; the automatic points count again.",
                    objective=_title(run, objective_id)), "success")
    return _back(student, run, f"objective-{objective_id}" if objective_id else None)


@grading_bp.post("/students/<int:student_id>/extension")
def extend(student_id: int) -> Any:
    """Give the student their own deadline in the run (a logged teacher action)."""
    student, run = _post_target(student_id)
    if run is None:
        return _no_run(student)
    form = ExtensionForm()
    if form.validate_on_submit():
        with attempt(on_form(form), ABOVE) as outcome:
            extend_deadline(run, student, form.deadline.data, form.reason.data)
        if not outcome.failed:
            flash(_("%(name)s has a new deadline.", name=student.display_name), "success")
            return _back(student, run, "deadline")
    return _student_page(student, str(run.id), ("extension", "", form), form.form_errors, 400)


def _title(run: Run, objective_id: str) -> str:
    for objective in run.scenario.objectives:
        if objective.id == objective_id:
            return pick(objective.title)
    return objective_id


# -- navigation ----------------------------------------------------------------------------------------------------

@grading_bp.app_context_processor
def teaching_nav() -> dict[str, Any]:
    """`teaching_links()` for base.html: My progress (students); Gradebook (staff, observers). Staff find
    Scenarios and Class activity in the Classroom menu (base.html), which keeps the bar on one line."""

    def links() -> list[tuple[str, str]]:
        if not current_user.is_authenticated:
            return []
        if current_user.role == Role.STUDENT:
            return [(_("My progress"), url_for("me.progress"))]
        return [(_("Gradebook"), url_for("grading.index"))]

    return {"teaching_links": links}
