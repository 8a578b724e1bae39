"""The WSGI entry point of production servers: `gunicorn sandbox.wsgi:app` (configured by environment variables)."""

from sandbox import create_app
from sandbox.serving import tune_collector

app = create_app()
tune_collector()
