"""The WSGI entry point of production servers: `gunicorn sandbox.wsgi:app` (configured by environment variables)."""

from sandbox import create_app

app = create_app()
