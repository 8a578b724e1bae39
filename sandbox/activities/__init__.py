"""Activities (活动): tasks and events, each optionally related to one lead, account, contact or opportunity."""

from flask import Blueprint

bp = Blueprint("activities", __name__, url_prefix="/activities")

from . import routes  # noqa: E402,F401
