"""Web Push (VAPID, aes128gcm) and the in-app inbox.

Every notice goes to the inbox; subscribed phones also get a push. Fan-out is
concurrent; a subscription answered 404 or 410 is removed; 429 and 5xx are
retried with backoff, respecting Retry-After.
"""
import base64
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from cryptography.hazmat.primitives import serialization
from flask import current_app
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, select

from ..extensions import db
from ..models import Notice, PushSubscription
from .clock import utcnow

TTL = 24 * 3600
MAX_TRIES = 4
_keys_lock = threading.Lock()


def vapid(app=None):
    """The app's VAPID key: from the environment, or generated once into the instance folder."""
    app = app or current_app
    cached = app.extensions.get("linli_vapid")
    if cached:
        return cached
    with _keys_lock:
        pem = app.config.get("VAPID_PRIVATE_KEY")
        if pem:
            key = Vapid02.from_pem(pem.encode()) if "BEGIN" in pem else Vapid02.from_raw(pem.encode())
        else:
            path = os.path.join(app.instance_path, "vapid_private.pem")
            if not os.path.exists(path):
                fresh = Vapid02()
                fresh.generate_keys()
                fresh.save_key(path)
                os.chmod(path, 0o600)
            key = Vapid02.from_file(path)
        app.extensions["linli_vapid"] = key
        return key


def public_key(app=None):
    """applicationServerKey: the uncompressed P-256 point, base64url without padding."""
    raw = vapid(app).public_key.public_bytes(serialization.Encoding.X962,
                                             serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subscribe(user, endpoint, p256dh, auth):
    sub = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if sub is None:
        sub = PushSubscription(endpoint=endpoint)
        db.session.add(sub)
    sub.user_id, sub.p256dh, sub.auth = user.id, p256dh, auth
    db.session.commit()
    return sub


def unsubscribe(user, endpoint):
    db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id,
                                                      PushSubscription.endpoint == endpoint))
    db.session.commit()


def add_notices(user_ids, title, body, url, alert_id=None):
    """Inbox notices, in the caller's transaction."""
    for uid in sorted(set(user_ids)):
        db.session.add(Notice(user_id=uid, alert_id=alert_id, title=title, body=body, url=url))


def send_later(user_ids, title, body, url, alert_id=None, urgent=True):
    """Pushes to the users' phones, in the background (RQ, or a thread)."""
    if user_ids:
        from . import jobs
        payload = {"title": title, "body": body, "url": url, "tag": f"alert-{alert_id}" if alert_id else None}
        jobs.enqueue("webapp.services.push:fan_out", sorted(set(user_ids)), payload, urgent, queue="push")


def notify(user_ids, title, body, url, alert_id=None, urgent=True):
    """Inbox notices now, pushes in the background."""
    add_notices(user_ids, title, body, url, alert_id)
    db.session.commit()
    send_later(user_ids, title, body, url, alert_id, urgent)


def fan_out(user_ids, payload, urgent=True):
    """Send one payload to every subscription of these users, concurrently. Returns a summary."""
    subs = db.session.execute(
        select(PushSubscription.id, PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth)
        .where(PushSubscription.user_id.in_(user_ids))).all()
    if not subs:
        return {"sent": 0, "gone": 0, "failed": 0}
    key = vapid()
    subject = current_app.config["VAPID_SUBJECT"]
    data = json.dumps(payload, ensure_ascii=False)
    headers = {"Urgency": "high" if urgent else "normal"}
    local = threading.local()

    def session():
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def send(sub):
        sid, endpoint, p256dh, auth = sub
        info = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
        for attempt in range(MAX_TRIES):
            try:
                response = webpush(info, data=data, vapid_private_key=key,
                                   vapid_claims={"sub": subject},  # fresh each send: webpush adds aud and exp
                                   content_encoding="aes128gcm", ttl=TTL, timeout=10, headers=dict(headers),
                                   requests_session=session())
                return sid, "sent", getattr(response, "status_code", 201)
            except WebPushException as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status in (404, 410):
                    return sid, "gone", status
                if status == 429 or (status is not None and status >= 500):
                    time.sleep(_retry_after(exc.response, attempt))
                    continue
                return sid, "failed", status
            except requests.RequestException:
                time.sleep(_retry_after(None, attempt))
        return sid, "failed", None

    with ThreadPoolExecutor(max_workers=min(32, len(subs))) as pool:
        results = list(pool.map(send, subs))
    gone = [sid for sid, outcome, _s in results if outcome == "gone"]
    sent = [sid for sid, outcome, _s in results if outcome == "sent"]
    if gone:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
    if sent:
        db.session.execute(PushSubscription.__table__.update()
                           .where(PushSubscription.id.in_(sent)).values(last_success_at=utcnow()))
    db.session.commit()
    return {"sent": len(sent), "gone": len(gone), "failed": len(results) - len(sent) - len(gone)}


def _retry_after(response, attempt):
    """Seconds to wait: the server's Retry-After when it gives one (capped), else exponential backoff."""
    if response is not None:
        value = response.headers.get("Retry-After")
        if value and value.strip().isdigit():
            return min(int(value), 60)
    return min(0.5 * 2 ** attempt, 8)


def inbox(user, limit=50):
    return db.session.scalars(select(Notice).where(Notice.user_id == user.id)
                              .order_by(Notice.id.desc()).limit(limit)).all()


def unread_count(user):
    from sqlalchemy import func
    return db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == user.id,
                                                                 Notice.read_at.is_(None)))
