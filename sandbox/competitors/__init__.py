"""Competitors (竞争对手): rival companies, readable by the whole class."""

from flask import Blueprint

bp = Blueprint("competitors", __name__, url_prefix="/competitors")

from . import record, routes  # noqa: E402,F401
