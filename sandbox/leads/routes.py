"""Lead pages: the generic record pages over the lead's registry entry (the convert page: convert_views.py)."""

from __future__ import annotations

from ..records.views import RecordViews
from . import bp
from .record import LEAD

views = RecordViews(bp, LEAD)
views.register()
