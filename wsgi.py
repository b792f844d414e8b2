"""WSGI entry point: `gunicorn wsgi:app`."""
from ocopkit import create_app

app = create_app()
