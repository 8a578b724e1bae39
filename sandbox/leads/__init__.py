"""Leads: the first business record type."""

from flask import Blueprint

bp = Blueprint("leads", __name__, url_prefix="/leads")

from . import routes  # noqa: E402,F401
