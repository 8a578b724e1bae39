"""The teaching core: scenario runs (load, reset, undo), objectives, the gradebook and class activity.

Subpackages: `runs/` (scenario files, generation, loading, reset and undo, snapshots, late joiners'
books; the /scenarios/ pages), `objectives/` (check kinds, the effects they count, integrity hints),
`grading/` (the gradebook, overrides and extensions, exports; /grading/ and /me/progress) and
`activity/` (who did what in a run; /grading/activity). `models.py` and `permissions.py` are shared.

Three blueprints, defined here: /scenarios/ (instructors load and reset), /grading/ (the gradebook,
evidence, class activity) and /me/ (a student's own progress).
"""

from flask import Blueprint

from .. import oplog
from . import models  # noqa: F401  (mapped before the first query)
from .runs.lookup import resolve_run_id

scenarios_bp = Blueprint("scenarios", __name__, url_prefix="/scenarios")
grading_bp = Blueprint("grading", __name__, url_prefix="/grading")
me_bp = Blueprint("me", __name__, url_prefix="/me")

oplog.run_resolver = resolve_run_id

BLUEPRINTS = (scenarios_bp, grading_bp, me_bp)

# Route modules register on the blueprints above, so they are imported last, one per line.
# isort: off
from .activity import routes as activity_routes  # noqa: E402,F401
from .runs import routes as scenario_routes  # noqa: E402,F401
from .grading import routes as grading_routes  # noqa: E402,F401
from .grading import progress_routes  # noqa: E402,F401
