"""Contacts (联系人): the people at accounts."""

from flask import Blueprint

bp = Blueprint("contacts", __name__, url_prefix="/contacts")

from . import record, routes  # noqa: E402,F401
