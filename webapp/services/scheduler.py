"""Timers: a tick runs a list of named sweeps (urgent visits without an alert,
escalations due, the hourly check for the daily digest of overdue high-risk elders). Everything pending
is in the database, so each tick simply re-reads it: a restart loses nothing.

A tick runs under one lock, so when several processes tick (several web
processes, several RQ workers) only one of them runs the sweeps; the others skip.
The lock is a PostgreSQL advisory lock on PostgreSQL, a file lock beside the
database file on SQLite (one machine), else a Redis lock when REDIS_URL is set.
When each sweep and the whole tick last completed is kept in sweep_run.

- Embedded mode (no REDIS_URL): a thread in the web process runs `tick`.
- Production (REDIS_URL): `flask linli-worker` runs an RQ worker; its clock
  thread enqueues `tick` on the alerts queue, and workers run it.

A tick is a background job and so a deliberate durable boundary: the sweeps
commit their own steps, and the tick commits its sweep_run rows.
"""
import fcntl
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from flask import current_app
from sqlalchemy import text

from ..extensions import db
from ..clock import utcnow

log = logging.getLogger(__name__)
_started = set()
_local_lock = threading.Lock()
LOCK_KEY = 0x4C696E6C69  # "Linli": the advisory lock's number
REDIS_LOCK = "linli:scheduler:tick"


@dataclass(frozen=True)
class Sweep:
    name: str
    run: Callable[[], object]  # returns a short summary (a count)
    every: float = 0  # seconds between runs; 0: every tick


def _urgent_visits():
    from . import alerts
    return alerts.sweep_urgent_visits()


def _escalations():
    from . import alerts
    return alerts.escalate_due()


def _overdue_scan():
    """The daily digest of overdue high-risk elders (once per worker per local day; no alerts)."""
    from ..models import Community
    from . import overdue
    return sum(overdue.send_digests(community) for community in db.session.scalars(
        db.select(Community).order_by(Community.id)).all())


def _meal_no_answers():
    from . import meals
    return meals.sweep_no_answers()


def _meal_closed_routes():
    from . import meals
    return meals.sweep_closed_routes()


def _checkins():
    from . import checkins
    return checkins.sweep()


SWEEPS = [
    Sweep("urgent_visits", _urgent_visits),
    Sweep("checkins", _checkins),  # before escalations: a missed check-in's alert tells the worker at once
    Sweep("meal_no_answers", _meal_no_answers),  # before escalations: a new alert's first rung at once
    Sweep("meal_closed_routes", _meal_closed_routes),
    Sweep("escalations", _escalations),
    Sweep("request_deadlines", lambda: __import__("webapp.services.requests", fromlist=["x"]).escalate_due()),
    Sweep("overdue_scan", _overdue_scan, every=3600),
]


def tick():
    """Run the sweeps that are due, unless another process is ticking right now.
    Returns {sweep name: summary}, or None when this tick was skipped."""
    try:
        with tick_lock() as held:
            if not held:
                return None
            return _run_sweeps()
    finally:
        db.session.remove()


def _run_sweeps():
    from ..models import SweepRun
    results = {}
    for sweep in list(SWEEPS):
        db.session.rollback()
        run = db.session.get(SweepRun, sweep.name)
        now = utcnow()
        if sweep.every and run is not None and run.last_completed_at is not None \
                and (now - run.last_completed_at).total_seconds() < sweep.every:
            continue
        try:
            outcome = sweep.run()
        except Exception:  # one failing sweep does not stop the others; the next tick retries
            log.exception("scheduler sweep %s failed", sweep.name)
            db.session.rollback()
            results[sweep.name] = "failed"
            continue
        results[sweep.name] = outcome
        _completed(sweep.name, now, outcome)
    _completed("tick", utcnow(), "")
    return results


def _completed(name, started, outcome):
    from ..models import SweepRun
    db.session.rollback()
    run = db.session.get(SweepRun, name) or SweepRun(name=name)
    run.last_started_at, run.last_completed_at, run.last_result = started, utcnow(), str(outcome)[:200]
    db.session.add(run)
    db.session.commit()


def last_tick_at():
    """When the last tick completed (naive UTC), or None if none has."""
    from ..models import SweepRun
    run = db.session.get(SweepRun, "tick")
    return run.last_completed_at if run else None


@contextmanager
def tick_lock():
    """Yields True when this process may tick now, False when another one is ticking."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        with _pg_lock() as held:
            yield held
    elif dialect == "sqlite" and db.engine.url.database not in (None, "", ":memory:"):
        with file_lock(db.engine.url.database + ".tick-lock") as held:
            yield held
    elif current_app.config.get("REDIS_URL"):
        with redis_lock(current_app.config["REDIS_URL"]) as held:
            yield held
    else:
        held = _local_lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                _local_lock.release()


@contextmanager
def _pg_lock():
    """A transaction-level advisory lock on a connection of its own, held for the whole tick
    (the sweeps commit on the session's connection) and released when that transaction ends,
    or when the process dies and its connection with it."""
    with db.engine.connect() as conn:
        held = bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}).scalar())
        try:
            yield held
        finally:
            conn.rollback()


@contextmanager
def file_lock(path):
    """flock: per open file, so it excludes other threads as well as other processes; the
    kernel releases it when the process dies."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def redis_lock(url, timeout=120):
    """A Redis lock that expires by itself if its holder dies mid-tick."""
    from redis import Redis
    lock = Redis.from_url(url).lock(REDIS_LOCK, timeout=timeout)
    held = lock.acquire(blocking=False)
    try:
        yield held
    finally:
        if held:
            try:
                lock.release()
            except Exception:  # expired meanwhile: nothing to release
                log.warning("scheduler lock had expired before the tick ended")


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
