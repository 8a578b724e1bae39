"""Contact pages: the generic record pages over the contact's registry entry."""

from __future__ import annotations

from ..records.views import RecordViews
from . import bp
from .record import CONTACT

views = RecordViews(bp, CONTACT)
views.register()
