"""CRM Practice Sandbox: a classroom CRM where students run a simulated company."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application; `config` overrides the environment-derived defaults."""
    from .app_setup import configure

    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    configure(app, config or {})
    return app
