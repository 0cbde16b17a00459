"""Timers: escalation of unacknowledged alerts, and the hourly scan for overdue
high-risk elders. Everything pending is in the database, so each tick simply
re-reads it: a restart loses nothing.

- Embedded mode (no REDIS_URL): a thread in the web process runs `tick`.
- Production (REDIS_URL): `flask linli-worker` runs an RQ worker; its clock
  thread enqueues `tick` on the alerts queue, and workers run it.
"""
import logging
import threading
import time

from flask import current_app

from ..extensions import db
from .clock import utcnow

log = logging.getLogger(__name__)
_last_scan = {}
_started = set()


def tick():
    from ..models import Community
    from . import alerts
    alerts.sweep_urgent_visits()
    escalated = alerts.escalate_due()
    now = utcnow()
    raised = 0
    for community in db.session.query(Community).all():
        last = _last_scan.get(community.id)
        if last is None or (now - last).total_seconds() >= 3600:
            raised += alerts.overdue_scan(community)
            _last_scan[community.id] = now
    db.session.remove()
    return {"escalated": escalated, "raised": raised}


def interval(app):
    return float(app.config.get("SCHEDULER_TICK_SECONDS", 15))


def start_in_process(app):
    """The embedded scheduler: one daemon thread per process."""
    if id(app) in _started:
        return
    _started.add(id(app))

    def loop():
        while True:
            try:
                with app.app_context():
                    tick()
            except Exception:  # keep ticking: the next tick re-reads everything
                log.exception("scheduler tick failed")
            time.sleep(interval(app))

    threading.Thread(target=loop, daemon=True, name="linli-scheduler").start()


def start_clock_for_rq(app, stop):
    """In the RQ worker: enqueue a tick on the alerts queue every interval, until stopped."""
    from . import jobs

    def loop():
        while not stop.is_set():
            try:
                with app.app_context():
                    jobs.enqueue("webapp.services.scheduler:tick", queue="alerts")
            except Exception:
                log.exception("could not enqueue the scheduler tick")
            stop.wait(interval(app))

    thread = threading.Thread(target=loop, daemon=True, name="linli-rq-clock")
    thread.start()
    return thread


def autostart(app):
    """Start the in-process scheduler with the first request of a web process (not in tests)."""
    @app.before_request
    def _scheduler():
        if not app.testing and not current_app.config.get("REDIS_URL") and id(app) not in _started:
            start_in_process(app)
