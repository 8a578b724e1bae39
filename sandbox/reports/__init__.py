"""Reports (报表管理): families of reports over the record types, each a chart and a table (SPEC §6).

`registry.py` holds the definitions, `engine.py` runs them through the visibility rule, `views.py` is
the pages and exports. Each family's reports are one module here (`opportunities.py`...).
"""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from . import families, views  # noqa: E402,F401
