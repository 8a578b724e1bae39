"""Documents (文档管理): folders, uploads and their versions."""

from flask import Blueprint

from . import models  # noqa: F401  (mapped before the first query)

bp = Blueprint("documents", __name__, url_prefix="/documents")

from . import record, routes  # noqa: E402,F401
