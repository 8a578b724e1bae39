"""Account pages: the generic record pages over the account's registry entry."""

from __future__ import annotations

from ..records.views import RecordViews
from . import bp
from .record import ACCOUNT

views = RecordViews(bp, ACCOUNT)
views.register()
