"""WSGI entry for external servers: `gunicorn 'lendbridge.wsgi:app'`."""

from lendbridge.app import create_app

app = create_app()
