"""Quotas and forecasts (销售预期): targets per salesperson and fiscal quarter, forecasts submitted against them."""

from flask import Blueprint

from . import models  # noqa: F401  (mapped before the first query)

bp = Blueprint("forecasts", __name__, url_prefix="/forecasts")

from . import cli, routes  # noqa: E402,F401
