"""Campaigns (市场拓广): campaigns, their members and tasks, ROI."""

from flask import Blueprint

from . import models  # noqa: F401  (mapped before the first query)

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")

from . import record, routes  # noqa: E402,F401
