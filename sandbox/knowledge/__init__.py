"""The knowledge base (知识库): articles readable class-wide."""

from flask import Blueprint

from . import models  # noqa: F401  (mapped before the first query)

bp = Blueprint("knowledge", __name__, url_prefix="/knowledge")

from . import record, routes  # noqa: E402,F401
