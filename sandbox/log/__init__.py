"""The operation log pages: one's own entries; instructors filter and export their classes'."""

from flask import Blueprint

bp = Blueprint("log", __name__, url_prefix="/log")

from . import render, routes  # noqa: E402,F401

# Every page that lists entries (timeline, dashboard, gradebook) renders them through the one renderer.
bp.add_app_template_global(render.render_entries, "log_view")
bp.add_app_template_global(render.type_label, "type_label")
bp.add_app_template_global(render.verb_label, "verb_label")
