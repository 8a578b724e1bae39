"""Opportunities (销售机会): deals moving through the sales stages."""

from flask import Blueprint

bp = Blueprint("opportunities", __name__, url_prefix="/opportunities")

from . import item_routes, routes  # noqa: E402,F401
