"""Restarting the worker process mid-ladder still escalates on time.

Embedded mode: the web process runs the scheduler. Production mode (REDIS_URL):
`flask linli-worker`, an RQ worker. Both read pending escalations from the
database; a clock file shared with this test stands in for time."""
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Notice, User
from webapp import clock
from webapp.services import alerts

from .livesrv import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T0 = datetime(2026, 11, 22, 2, 0)


class Worker:
    def __init__(self, app, clock_file, log_path):
        self.env = dict(os.environ, FLASK_APP="webapp", LINLI_CLOCK_FILE=str(clock_file), LINLI_TICK_SECONDS="0.3",
                        SECRET_KEY="test-secret", DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"])
        self.rq = bool(os.environ.get("REDIS_URL"))
        self.log_path = log_path
        self.proc = None
        self.port = free_port()

    def start(self):
        flask = os.path.join(os.path.dirname(sys.executable), "flask")
        args = [flask, "linli-worker"] if self.rq else [flask, "run", "--port", str(self.port), "--no-reload"]
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        if not self.rq:  # the first request starts the web process's scheduler
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    requests.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                    return
                except requests.RequestException:
                    time.sleep(0.2)
            raise AssertionError(open(self.log_path).read()[-2000:])

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()


def notices(username, alert_id):
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == user.id,
                                                                 Notice.alert_id == alert_id))


def wait_until(predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_restart_mid_ladder_still_escalates_on_time(app, world, tmp_path, monkeypatch):
    clock_file = tmp_path / "clock"

    def set_time(when):
        clock_file.write_text(when.isoformat())

    set_time(T0)
    monkeypatch.setattr(clock, "_FILE", str(clock_file))
    if os.environ.get("REDIS_URL"):
        from redis import Redis
        from rq import Queue
        for name in ("alerts", "push", "default"):
            Queue(name, connection=Redis.from_url(os.environ["REDIS_URL"])).empty()
    # Canary alerts, raised earlier or later than the one watched, whose rungs fall due at the
    # moments the test checks that nothing happened too early or twice: seeing a canary climb
    # proves the worker ticked at that time, so the negative checks wait on an event, not a sleep.
    canaries = {}
    for name, offset, household in (("3min", -timedelta(minutes=2), world.grid1[1]),
                                     ("4min50", -timedelta(seconds=10), world.grid1[2]),
                                     ("15min10", timedelta(seconds=10), world.grid1[3])):
        set_time(T0 + offset)
        canaries[name] = alerts.raise_alert("sos", household).id
    set_time(T0)
    alert_id = alerts.raise_alert("sos", world.grid1[0]).id
    log = lambda: open(tmp_path / "worker.log").read()[-3000:]  # noqa: E731
    worker = Worker(app, clock_file, tmp_path / "worker.log")
    worker.start()
    try:
        set_time(T0 + timedelta(minutes=3))
        assert wait_until(lambda: notices("leader1", canaries["3min"]) == 1), log()
        assert notices("leader1", alert_id) == 0
        worker.kill()  # mid-ladder
        set_time(T0 + timedelta(minutes=4, seconds=50))
        worker.start()
        assert wait_until(lambda: notices("leader1", canaries["4min50"]) == 1), log()
        assert notices("leader1", alert_id) == 0  # not early
        set_time(T0 + timedelta(minutes=5))
        assert wait_until(lambda: notices("leader1", alert_id) == 1), log()
        worker.kill()
        worker.start()
        set_time(T0 + timedelta(minutes=15))
        assert wait_until(lambda: notices("admin", alert_id) == 1), log()
        set_time(T0 + timedelta(minutes=15, seconds=10))
        assert wait_until(lambda: notices("admin", canaries["15min10"]) == 1), log()  # a later tick ran
        assert notices("leader1", alert_id) == 1 and notices("admin", alert_id) == 1  # exactly once
    finally:
        if worker.proc and worker.proc.poll() is None:
            worker.kill()
