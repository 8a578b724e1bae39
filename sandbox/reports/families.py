"""The report families and the modules that register their reports (imported once, with the blueprint)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..records import list_filters
from . import engine
from .registry import Family, register_family

register_family(Family("accounts", _l("Accounts & contacts"),
                       _l("My accounts, neglected accounts, new accounts, contact methods, growth."), order=10,
                       icon="building"))
register_family(Family("opportunities", _l("Opportunities"),
                       _l("Pipeline by stage, won deals, win rate, deal size, days in stage."), order=20,
                       icon="funnel"))
register_family(Family("sales", _l("Sales"),
                       _l("Closed sales by month and quarter, by user, against quota, department roll-up."),
                       order=30, icon="graph-up-arrow"))
register_family(Family("leads", _l("Leads"), _l("Leads by status and source, conversion rate, time to convert."),
                       order=40, icon="person-plus"))
register_family(Family("competitors", _l("Competitors"),
                       _l("Competitors by threat level and company type, wins and losses against each."),
                       order=50, icon="shield"))

# A drill-down link opens a record list narrowed exactly as the report's number (records/list_filters.py).
list_filters.add_source(engine.drill_conditions)

# Customer analytics is a page of its own (registered below with its view).
from . import accounts, campaigns, competitors, customers, leads, opportunities, sales  # noqa: E402,F401

register_family(Family("customers", _l("Customer analytics"),
                       _l("RFM segments of your accounts, a lifetime-value ranking, segments saved as tags."),
                       order=70, icon="people", view=customers.customers_page))

# Service reports over cases (the module registers its family and reports).
from . import service  # noqa: E402,F401
