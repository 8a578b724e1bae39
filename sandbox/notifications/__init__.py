"""Notifications: the in-app inbox."""

from flask import Blueprint

from . import models  # noqa: F401  (mapped before the first query)

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from . import cli, render, routes  # noqa: E402,F401
