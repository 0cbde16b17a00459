"""Chaos: 20 devices sync 2,000 visits through a proxy that drops 30% of requests
and 30% of responses after the server committed. Every record arrives exactly once."""
import re
import threading
import time
import uuid

import pytest
import requests
from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import Visit

from .livesrv import LiveServer
from .lossyproxy import LossyProxy

DEVICES, PER_DEVICE, BATCH = 20, 100, 25
USERS = ("worker1", "worker2", "leader1", "admin")


def device_session(server_url, username):
    s = requests.Session()
    html = s.get(server_url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = s.post(server_url + "/login", data={"login": username, "password": "linli-demo", "csrf_token": token},
               allow_redirects=False, timeout=10)
    assert r.status_code == 302
    return s, s.get(server_url + "/api/session", timeout=10).json()["csrf_token"]


def run_device(n, server_url, proxy_url, households, out, errors, deadline):
    try:
        session, csrf = device_session(server_url, USERS[n % len(USERS)])
        records = [{"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-20T02:00:00Z",
                    "payload": {"household_id": households[(n * PER_DEVICE + i) % len(households)],
                                "mode": "door", "occurred_at": "2026-11-20T10:00", "note": f"设备{n}-{i}"}}
                   for i in range(PER_DEVICE)]
        pending = list(records)
        acked, attempts = set(), 0
        while pending and time.monotonic() < deadline:
            batch = pending[:BATCH]
            attempts += 1
            try:
                r = session.post(proxy_url + "/api/sync", json={"records": batch},
                                 headers={"X-CSRFToken": csrf}, timeout=30)
            except requests.RequestException:
                time.sleep(0.01)
                continue  # lost request or lost answer: send the same records again
            if r.status_code != 200:
                errors.append(f"device {n}: HTTP {r.status_code} {r.text[:200]}")
                time.sleep(0.05)
                continue
            for a in r.json()["results"]:
                if a["status"] != "stored":
                    errors.append(f"device {n}: refused {a}")
                acked.add(a["uuid"])
            pending = [rec for rec in pending if rec["uuid"] not in acked]
        out[n] = ({r["uuid"] for r in records}, acked, attempts)
    except Exception as exc:  # surface in the main thread
        errors.append(f"device {n}: {exc!r}")


@pytest.mark.slow
def test_chaos_exactly_once(app, world):
    db.session.execute(delete(Visit))
    db.session.commit()
    households = {
        "worker1": [h.id for h in world.grid1], "leader1": [h.id for h in world.grid1],
        "worker2": [h.id for h in world.grid2],
        "admin": [h.id for g in world.grids for h in world.households_in(g)],
    }
    server = LiveServer(app).start()
    proxy = LossyProxy(server.port, 0.3, 0.3, seed=20261122).start()
    try:
        out, errors, threads = {}, [], []
        deadline = time.monotonic() + 240
        for n in range(DEVICES):
            t = threading.Thread(target=run_device, args=(n, server.url, proxy.url,
                                                         households[USERS[n % len(USERS)]], out, errors, deadline))
            threads.append(t)
            t.start()
        for t in threads:
            t.join(300)
    finally:
        proxy.stop()
        server.stop()
    assert not errors, errors[:5]
    assert len(out) == DEVICES
    sent = set().union(*(o[0] for o in out.values()))
    acked = set().union(*(o[1] for o in out.values()))
    assert len(sent) == DEVICES * PER_DEVICE and acked == sent
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Visit.id))) == DEVICES * PER_DEVICE
    assert set(db.session.scalars(select(Visit.uuid))) == sent
    # the proxy really lost traffic both ways
    assert proxy.stats["dropped_requests"] > 10 and proxy.stats["dropped_responses"] > 10
    print("chaos:", proxy.stats, "attempts:", sum(o[2] for o in out.values()))
