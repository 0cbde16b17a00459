"""Web Push against a local push service: VAPID JWT verified, payload decrypted,
410 removes the subscription, 429/5xx retried respecting Retry-After."""
import re
import time

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Notice, PushSubscription
from webapp.services import alerts, push

from .pushservice import PushService


@pytest.fixture
def pushsvc(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUSH_ALLOW_INSECURE_LOOPBACK", True)  # tests only
    with app.app_context():
        service = PushService(push.public_key(app))
    yield service
    service.stop()


def subscribe(client, sub):
    return client.post("/api/push/subscribe", json=sub.subscription(), headers={"X-CSRFToken": client.csrf})


def test_alert_reaches_the_workers_phone_encrypted_and_signed(as_user, world, pushsvc):
    worker = as_user("worker1")
    phone = pushsvc.new_subscriber()
    assert subscribe(worker, phone).status_code == 200
    other = pushsvc.new_subscriber()
    subscribe(as_user("worker2"), other)  # grid 2: must not be told
    household = world.grid1[0]
    alert = alerts.raise_alert("worker", household, raised_by=world.users["leader1"], note="摔倒")
    assert pushsvc.wait_for(1)  # jobs run inline in tests: the fan-out has finished when raise_alert returns
    assert not pushsvc.errors, pushsvc.errors
    assert [t for t, _p, _h in pushsvc.received] == [phone.endpoint.rsplit("/", 1)[1]]
    _token, payload, headers = pushsvc.received[0]
    assert payload["url"] == f"/alerts/{alert.id}" and payload["title"] == "紧急求助"
    assert household.label in payload["body"]
    assert headers.get("urgency") == "high"
    # the same notice is in the inbox, for phones without push
    inbox = worker.get("/inbox").get_data(as_text=True)
    assert "紧急求助" in inbox
    opened = re.search(r'action="(/notices/\d+/open)"', inbox).group(1)
    assert worker.post(opened, data={"csrf_token": worker.csrf}).headers["Location"] == f"/alerts/{alert.id}"
    assert payload["tag"] == f"alert-{alert.id}"  # later pushes about the same alert replace this one


def test_gone_subscriptions_are_removed_and_busy_ones_retried(as_user, world, pushsvc, app):
    worker = as_user("worker1")
    gone, busy, flaky = pushsvc.new_subscriber(), pushsvc.new_subscriber(), pushsvc.new_subscriber()
    for s in (gone, busy, flaky):
        subscribe(worker, s)
    token = lambda s: s.endpoint.rsplit("/", 1)[1]  # noqa: E731
    pushsvc.behaviour[token(gone)] = [(410, {})]
    pushsvc.behaviour[token(busy)] = [(429, {"Retry-After": "1"})]
    pushsvc.behaviour[token(flaky)] = [(503, {})]
    started = time.monotonic()
    summary = push.fan_out([world.users["worker1"].id], {"title": "t", "body": "b", "url": "/"})
    elapsed = time.monotonic() - started
    assert summary == {"sent": 2, "gone": 1, "failed": 0}
    assert elapsed >= 1.0  # waited as Retry-After asked
    endpoints = set(db.session.scalars(select(PushSubscription.endpoint)))
    assert gone.endpoint not in endpoints and busy.endpoint in endpoints
    assert sorted(t for t, _p, _h in pushsvc.received) == sorted([token(busy), token(flaky)])


def test_subscribe_and_unsubscribe(as_user, world, pushsvc):
    worker = as_user("worker1")
    phone = pushsvc.new_subscriber()
    subscribe(worker, phone)
    assert db.session.scalar(select(func.count(PushSubscription.id))) == 1
    bad = worker.post("/api/push/subscribe", json={"endpoint": "x"}, headers={"X-CSRFToken": worker.csrf})
    assert bad.status_code == 400 and "订阅信息不完整" in bad.json["message"]
    worker.post("/api/push/unsubscribe", json={"endpoint": phone.endpoint}, headers={"X-CSRFToken": worker.csrf})
    assert db.session.scalar(select(func.count(PushSubscription.id))) == 0
    assert worker.get("/api/push/key").json["publicKey"] == push.public_key()


def test_vapid_key_is_kept_in_the_instance_folder(app):
    first = push.public_key(app)
    app.extensions.pop("linli_vapid")
    assert push.public_key(app) == first  # read back from instance/vapid_private.pem
    assert len(first) == 87  # 65-byte uncompressed point, base64url


def test_header_tells_of_unread_notices_until_they_are_read(as_user, world):
    alerts.raise_alert("worker", world.grid1[0], raised_by=world.users["leader1"])
    worker = as_user("worker1")
    assert push.unread_count(world.users["worker1"]) == 1
    assert "1条新通知" in worker.get("/today").get_data(as_text=True)  # the header tells every page
    assert "新" in worker.get("/inbox").get_data(as_text=True)
    assert "1条新通知" in worker.get("/today").get_data(as_text=True)  # looking is not reading
    worker.post("/inbox/read", data={"csrf_token": worker.csrf})
    assert "新通知" not in worker.get("/today").get_data(as_text=True)
    db.session.expire_all()
    assert push.unread_count(world.users["worker1"]) == 0
    assert db.session.scalar(select(func.count(Notice.id))) >= 1
