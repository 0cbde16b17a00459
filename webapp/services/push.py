"""Web Push (VAPID, aes128gcm) and the in-app inbox.

Every notice goes to the inbox; subscribed phones also get a push. Fan-out is
concurrent; a subscription answered 404 or 410 is removed; 429 and 5xx are
retried (PUSH_MAX_TRIES in all), respecting Retry-After.

The server POSTs to the endpoint a browser gave it, so endpoints are held to what a
push service looks like (no SSRF): https, no userinfo, a host on PUSH_SERVICE_HOSTS,
every resolved address public, and redirects never followed. Tests allow their
loopback push service with PUSH_ALLOW_INSECURE_LOOPBACK, never set in production.
"""
import base64
import hmac
import ipaddress
import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from flask import current_app
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..models import Notice, PushSubscription
from ..clock import utcnow
from ..ops.secrets import create_once, vapid_pem

TTL = 24 * 3600
_keys_lock = threading.Lock()
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}


class EndpointError(ValueError):
    """The endpoint is not one of the configured push services."""


class EndpointTaken(ValueError):
    """The endpoint belongs to another account's subscription."""


def _host_allowed(host, patterns):
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def check_endpoint(endpoint, config=None):
    """The endpoint's (scheme, host, port), or EndpointError. No network is used."""
    config = current_app.config if config is None else config
    if not isinstance(endpoint, str) or not 0 < len(endpoint) < 1000 or not endpoint.isprintable() \
            or any(c.isspace() for c in endpoint):
        raise EndpointError("malformed")
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as exc:
        raise EndpointError("malformed") from exc
    host = (parts.hostname or "").lower()
    if "@" in parts.netloc or parts.username is not None or parts.password is not None or not host:
        raise EndpointError("userinfo")
    if config.get("PUSH_ALLOW_INSECURE_LOOPBACK") and host in LOOPBACK_NAMES and parts.scheme in ("http", "https"):
        return parts.scheme, host, port
    if parts.scheme != "https":
        raise EndpointError("scheme")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise EndpointError("ip literal")
    if not _host_allowed(host, config.get("PUSH_SERVICE_HOSTS") or ()):
        raise EndpointError("host")
    return parts.scheme, host, port


def _public_address(endpoint, config):
    """True when the endpoint passes check_endpoint and every address its host resolves to is public
    (checked again at each send: the row may be older than the rules, or DNS may have changed)."""
    try:
        scheme, host, port = check_endpoint(endpoint, config)
    except EndpointError:
        return False
    if config.get("PUSH_ALLOW_INSECURE_LOOPBACK") and host in LOOPBACK_NAMES:
        return True
    try:
        infos = socket.getaddrinfo(host, port or (443 if scheme == "https" else 80), type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {info[4][0].split("%", 1)[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_global for a in addresses)


class _NoRedirects(requests.Session):
    """A push service answers; it never sends us (and the payload) somewhere else."""

    def request(self, *args, **kwargs):
        kwargs["allow_redirects"] = False
        return super().request(*args, **kwargs)


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
        else:  # created once, even when several workers start together (ops/secrets.py)
            key = Vapid02.from_pem(create_once(os.path.join(app.instance_path, "vapid_private.pem"), vapid_pem))
        app.extensions["linli_vapid"] = key
        return key


def public_key(app=None):
    """applicationServerKey: the uncompressed P-256 point, base64url without padding."""
    raw = vapid(app).public_key.public_bytes(serialization.Encoding.X962,
                                             serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def subscribe(user, endpoint, p256dh, auth):
    """Store this phone's subscription for the user; the user keeps PUSH_MAX_PER_USER, newest first.

    An endpoint that belongs to another account is never re-bound silently: only the
    same browser, which posts the same keys (its auth secret is never shown anywhere),
    may move it to the account now signed in on it (a shared phone). Otherwise
    EndpointTaken."""
    check_endpoint(endpoint)
    sub = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint)
                            .with_for_update())
    if sub is None:
        sub = PushSubscription(endpoint=endpoint)
        db.session.add(sub)
    elif sub.user_id != user.id and not (hmac.compare_digest(sub.p256dh.encode(), p256dh.encode())
                                         and hmac.compare_digest(sub.auth.encode(), auth.encode())):
        raise EndpointTaken(endpoint)
    sub.user_id, sub.p256dh, sub.auth = user.id, p256dh, auth
    db.session.flush()
    cap = current_app.config["PUSH_MAX_PER_USER"]
    extra = db.session.scalars(select(PushSubscription.id).where(PushSubscription.user_id == user.id)
                               .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
                               .offset(cap)).all()
    if extra:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id.in_(extra)))
    return sub


def unsubscribe(user, endpoint):
    if not isinstance(endpoint, str):
        return
    db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id,
                                                      PushSubscription.endpoint == endpoint))


def add_notices(user_ids, title, body, url, subject=None):
    """Inbox notices, in the caller's transaction. subject: (subject_type, subject_id), e.g.
    ("alert", 12), or None for a notice about nothing in particular."""
    subject_type, subject_id = subject or (None, None)
    for uid in sorted(set(user_ids)):
        db.session.add(Notice(user_id=uid, subject_type=subject_type, subject_id=subject_id, title=title,
                              body=body, url=url))


def send_later(user_ids, title, body, url, subject=None, urgent=True):
    """Pushes to the users' phones, in the background (RQ, or a thread). Pushes about the same
    subject share a tag, so a phone shows the latest one only."""
    if user_ids:
        from . import jobs
        tag = f"{subject[0]}-{subject[1]}" if subject else None
        payload = {"title": title, "body": body, "url": url, "tag": tag}
        jobs.enqueue("webapp.services.push:fan_out", sorted(set(user_ids)), payload, urgent, queue="push")


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

    config = {k: current_app.config.get(k) for k in ("PUSH_SERVICE_HOSTS", "PUSH_ALLOW_INSECURE_LOOPBACK")}
    max_tries = max(1, int(current_app.config["PUSH_MAX_TRIES"]))

    def session():
        if not hasattr(local, "session"):
            local.session = _NoRedirects()
        return local.session

    def send(sub):
        sid, endpoint, p256dh, auth = sub
        if not _public_address(endpoint, config):
            return sid, "failed", None
        info = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
        for attempt in range(max_tries):
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
                if (status == 429 or (status is not None and status >= 500)) and attempt + 1 < max_tries:
                    time.sleep(_retry_after(exc.response, attempt))
                    continue
                return sid, "failed", status
            except requests.RequestException:
                if attempt + 1 < max_tries:
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
        if value and value.strip().isascii() and value.strip().isdigit():
            return min(int(value), 30)
    return min(0.5 * 2 ** attempt, 8)


def inbox(user, limit=50):
    return db.session.scalars(select(Notice).where(Notice.user_id == user.id)
                              .order_by(Notice.id.desc()).limit(limit)).all()


def unread_count(user):
    return db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == user.id,
                                                                 Notice.read_at.is_(None)))


def mark_read(user, notice_id=None):
    """Mark the user's notices read: one (returned; None when it is not theirs), or every unread one.
    In the caller's unit of work."""
    if notice_id is None:
        db.session.execute(update(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None))
                           .values(read_at=utcnow()).execution_options(synchronize_session=False))
        return None
    notice = db.session.scalar(select(Notice).where(Notice.id == notice_id, Notice.user_id == user.id))
    if notice is not None and notice.read_at is None:
        notice.read_at = utcnow()
        db.session.flush()
    return notice
