"""/me/progress: the signed-in student's checklist for their class's current scenario run."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import format_timedelta
from flask_login import current_user

from ...clock import utcnow
from ...org.models import Role
from .. import me_bp
from .gradebook import progress_of
from .view import TEMPLATE_HELPERS, percent

# The page reloads itself this often while the run is open (static/js/progress.js; the CSP forbids inline JS).
REFRESH_SECONDS = 60


@me_bp.get("/progress")
def progress() -> str:
    """The student's objectives: done, partly done or not yet, why, and the points; a friendly page for others."""
    context: dict[str, Any] = {"is_student": current_user.role == Role.STUDENT, **TEMPLATE_HELPERS}
    if not context["is_student"]:
        return render_template("classroom/progress.html", **context)
    run, row, extension = progress_of(current_user)
    context.update(run=run, row=row)
    if run is not None and row is not None:
        now = utcnow()
        left = row.deadline - now
        context.update(
            scenario=run.scenario, objectives=run.scenario.objectives, extension=extension,
            open=left.total_seconds() > 0,
            time_left=format_timedelta(abs(left), granularity="minute", threshold=0.9),
            total_pct=percent(row.total, run.scenario.total_points),
            done=sum(1 for o in run.scenario.objectives if row.cells[o.id].points >= o.points),
            refresh=REFRESH_SECONDS if left.total_seconds() > 0 else 0,
        )
    return render_template("classroom/progress.html", **context)
