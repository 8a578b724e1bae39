"""Service cases (客服管理) on the one workflow engine."""

from flask import Blueprint

from . import models  # noqa: F401  (mapped before the first query)

bp = Blueprint("cases", __name__, url_prefix="/cases")

from . import bulk_views, record, routes  # noqa: E402,F401
