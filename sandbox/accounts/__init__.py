"""Accounts (客户): the companies students sell to."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/accounts")

from . import record, routes  # noqa: E402,F401
