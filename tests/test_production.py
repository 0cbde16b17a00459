"""The production stack on this machine's PostgreSQL and Redis: gunicorn with two
workers, two RQ workers (`flask linli-worker`, each with its scheduler clock).

- a burst of syncs survives SIGKILL of one gunicorn worker and one RQ worker: every
  record the phones sent is stored exactly once (they resend until acknowledged);
- a push fan-out runs in an RQ worker and reaches the (local) push service;
- with two clocks ticking, an escalation climbs each rung exactly once.
"""
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Notice, PushSubscription, User, Visit
from webapp.services import alerts, demo, push

from .conftest import PG
from .livesrv import free_port
from .pushservice import PushService

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
REDIS_URL = os.environ.get("REDIS_URL")
T0 = datetime(2026, 11, 23, 2, 0)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (PG and REDIS_URL), reason="the production stack needs PostgreSQL and Redis")]


def wait_until(predicate, timeout=30, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class Stack:
    """gunicorn (2 workers) and two RQ workers, as `make prod` starts them."""

    def __init__(self, app, tmp_path, clock_file):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with app.app_context():
            pem = push.vapid(app).private_pem().decode()
        self.env = dict(os.environ, FLASK_APP="webapp", SECRET_KEY="test-secret", VAPID_PRIVATE_KEY=pem,
                        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=REDIS_URL,
                        LINLI_CLOCK_FILE=str(clock_file), LINLI_TICK_SECONDS="0.2", LOG_FORMAT="json",
                        WEB_CONCURRENCY="2", BIND=f"127.0.0.1:{self.port}", PUSH_ALLOW_INSECURE_LOOPBACK="1")
        self.tmp = tmp_path
        self.procs = {}

    def _start(self, name, args):
        log = open(self.tmp / f"{name}.log", "a")
        self.procs[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start(self):
        from redis import Redis
        from rq import Queue
        for name in ("alerts", "push", "default"):
            Queue(name, connection=Redis.from_url(REDIS_URL)).empty()
        self._start("web", [os.path.join(BIN, "gunicorn"), "-c", "gunicorn.conf.py", "webapp:create_app()"])
        for n in (1, 2):
            self._start(f"rq{n}", [os.path.join(BIN, "flask"), "linli-worker"])

        def up():
            try:
                return requests.get(self.url + "/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False
        assert wait_until(up, 30), self.logs()
        assert wait_until(lambda: len(children(self.procs["web"].pid)) == 2, 20), "gunicorn has not two workers"
        return self

    def logs(self):
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2500:]}" for p in sorted(self.tmp.glob("*.log")))

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def stack(app, world, tmp_path, monkeypatch):
    clock_file = tmp_path / "clock"
    clock_file.write_text(T0.isoformat())
    monkeypatch.setattr(clock, "_FILE", str(clock_file))
    db.session.commit()
    s = Stack(app, tmp_path, clock_file).start()
    s.clock_file = clock_file
    yield s
    s.stop()


def phone(stack, username):
    """A logged-in phone: a session with its CSRF token."""
    for attempt in range(5):  # a worker restarting mid-request drops the connection: try again
        s = requests.Session()
        try:
            html = s.get(stack.url + "/login", timeout=10).text
            token = html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            r = s.post(stack.url + "/login", data={"login": username, "password": demo.PASSWORD,
                                                   "csrf_token": token}, allow_redirects=False, timeout=10)
            break
        except requests.ConnectionError:
            time.sleep(0.5)
    assert r.status_code == 302, r.text[:300]
    s.headers["X-CSRFToken"] = s.get(stack.url + "/api/session", timeout=10).json()["csrf_token"]
    return s


def test_a_sync_burst_survives_killed_workers(stack, world):
    households = [h.id for h in world.grid1]
    world.visits_before = db.session.scalar(select(func.count(Visit.id)).where(
        Visit.author_id == world.users["worker1"].id))
    sent, acked, errors = [], set(), []
    lock = threading.Lock()
    batches_done = threading.Semaphore(0)

    def device(n):
        s = phone(stack, "worker1")
        for b in range(12):
            batch = [{"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-23T01:00:00Z",
                      "payload": {"household_id": households[(n + b) % len(households)], "mode": "door",
                                  "occurred_at": "2026-11-23T09:00"}} for _ in range(10)]
            with lock:
                sent.extend(r["uuid"] for r in batch)
            deadline = time.monotonic() + 90
            while True:  # the outbox resends the same batch until the server answers it
                try:
                    r = s.post(stack.url + "/api/sync", json={"records": batch}, timeout=10)
                    if r.status_code == 200:
                        results = r.json()["results"]
                        if any(x["status"] != "stored" for x in results):
                            errors.append(results)
                        with lock:
                            acked.update(x["uuid"] for x in results if x["status"] == "stored")
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, "a batch was never acknowledged"
                time.sleep(0.2)
            batches_done.release()

    threads = [threading.Thread(target=device, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for _ in range(10):  # mid-burst: a fifth of the batches are in
        batches_done.acquire()
    web_worker = children(stack.procs["web"].pid)[0]
    os.kill(web_worker, signal.SIGKILL)
    stack.procs["rq1"].send_signal(signal.SIGKILL)
    for t in threads:
        t.join(120)
    assert not errors, errors[:2]
    assert len(sent) == 480 and acked == set(sent)
    db.session.expire_all()
    before = world.visits_before
    stored = db.session.scalars(select(Visit.uuid).where(Visit.author_id == world.users["worker1"].id)).all()
    assert len(stored) - before == 480 and set(sent) <= set(stored), "a record was lost or doubled"
    assert wait_until(lambda: len(children(stack.procs["web"].pid)) == 2, 20), "gunicorn did not replace its worker"


def test_push_fan_out_runs_in_an_rq_worker(stack, world, app):
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import FinishedJobRegistry
    with app.app_context():
        service = PushService(push.public_key(app))
    try:
        sub = service.new_subscriber()
        keys = sub.subscription()["keys"]
        db.session.add(PushSubscription(user_id=world.users["worker1"].id, endpoint=sub.endpoint,
                                        p256dh=keys["p256dh"], auth=keys["auth"]))
        db.session.commit()
        leader = phone(stack, "leader1")
        token = leader.get(stack.url + "/api/session", timeout=10).json()["csrf_token"]
        r = leader.post(f"{stack.url}/households/{world.grid1[0].id}/alerts",
                        data={"csrf_token": token, "note": "摔倒", "uuid": str(uuid.uuid4())}, timeout=10)
        assert r.status_code == 200 and "/alerts/" in r.url, r.text[:300]
        alert_url = "/alerts/" + r.url.rstrip("/").rsplit("/", 1)[1]
        assert wait_until(lambda: any(p["url"] == alert_url for _t, p, _h in service.received), 30), stack.logs()
        mine = next(p for _t, p, _h in service.received if p["url"] == alert_url)
        assert not service.errors and mine["title"] == "紧急求助"
        registry = FinishedJobRegistry(queue=Queue("push", connection=Redis.from_url(REDIS_URL)))
        ran = [Job.fetch(j, connection=registry.connection).args[0] for j in registry.get_job_ids()]
        assert "webapp.services.push:fan_out" in ran
    finally:
        service.stop()


def test_each_rung_is_climbed_once_with_two_clocks(stack, world):
    from redis import Redis
    from rq import Queue
    from rq.registry import FinishedJobRegistry
    ticks = FinishedJobRegistry(queue=Queue("alerts", connection=Redis.from_url(REDIS_URL)))

    def notices(username, alert_id):
        db.session.expire_all()
        user = db.session.scalar(select(User).where(User.username == username))
        return db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == user.id,
                                                                     Notice.alert_id == alert_id))

    def more_ticks(n):
        start = ticks.count
        return wait_until(lambda: ticks.count >= start + n, 20)

    alert_id = alerts.raise_alert("sos", world.grid1[0]).id
    db.session.commit()
    for minutes, who in ((5, "leader1"), (15, "admin")):
        stack.clock_file.write_text((T0 + timedelta(minutes=minutes)).isoformat())
        assert wait_until(lambda: notices(who, alert_id) >= 1), stack.logs()
        assert more_ticks(6), "the clocks stopped ticking"  # both clocks kept going past the rung
        assert notices(who, alert_id) == 1, f"{who} was told more than once"
