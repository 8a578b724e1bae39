"""The calendar (日历): day, week and month views of events and tasks, and the iCalendar feed."""

from flask import Blueprint

from . import models  # noqa: F401  (mapped before the first query)

bp = Blueprint("calendars", __name__, url_prefix="/calendar")

from . import routes  # noqa: E402,F401
