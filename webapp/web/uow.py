"""One unit of work per request (as in Indico): routes and services never commit.

Services add and flush; this wrapper commits once when the view answered with a
success or a redirect, and rolls back when it answered with an error or raised,
so a refused form never leaves half a change behind.

Deliberate durable boundaries commit on their own and say so in their docstrings:
the sync ingest (a record is acknowledged only after it is stored) and the steps of
a timed ladder (each rung is its own compare-and-set transaction).
"""
from ..extensions import db


def install(app):
    @app.after_request
    def _finish(response):
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    @app.teardown_request
    def _abandon(exc):
        if exc is not None:
            db.session.rollback()
