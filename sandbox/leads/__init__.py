"""Leads: the first business record type (registry entry in record.py, pages in routes.py
and convert_views.py, conversion in conversion.py)."""

from flask import Blueprint

bp = Blueprint("leads", __name__, url_prefix="/leads")

from . import convert_views, record, routes  # noqa: E402,F401
