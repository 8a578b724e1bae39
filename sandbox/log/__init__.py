"""The operation log pages: one's own entries; instructors filter and export their classes'."""

from flask import Blueprint

bp = Blueprint("log", __name__, url_prefix="/log")

from . import routes  # noqa: E402,F401
