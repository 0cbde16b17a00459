"""A push service on loopback for tests: it plays the part of FCM or Mozilla's
autopush. Each request's VAPID JWT is verified (ES256, aud, exp) against the
application's public key, and the aes128gcm body is decrypted with the
subscriber's private key and auth secret."""
import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import jwt as vapid_jwt


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Subscriber:
    """A browser's side of a subscription: its key pair and auth secret."""

    def __init__(self, endpoint):
        self.endpoint = endpoint
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                            serialization.PublicFormat.UncompressedPoint)
        self.p256dh = b64url(public)

    def subscription(self):
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)}}


class PushService:
    def __init__(self, app_public_key):
        self.app_public_key = app_public_key  # base64url, uncompressed point
        self.subscribers = {}
        self.received = []  # (token, payload dict, headers with lower-case names)
        self.errors = []
        self.behaviour = {}  # token → list of (status, headers) to answer before accepting
        self.lock = threading.Lock()
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                token = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra = service.handle(token, headers, body)
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def new_subscriber(self):
        token = b64url(os.urandom(12))
        sub = Subscriber(f"{self.url}/push/{token}")
        self.subscribers[token] = sub
        return sub

    def handle(self, token, headers, body):
        with self.lock:
            queued = self.behaviour.get(token)
            if queued:
                return queued.pop(0)
        sub = self.subscribers.get(token)
        if sub is None:
            return 404, {}
        try:
            payload = self.verify_and_decrypt(sub, headers, body)
        except Exception as exc:  # recorded, and answered like a real service would
            with self.lock:
                self.errors.append(f"{token}: {exc!r}")
            return 400, {}
        with self.lock:
            self.received.append((token, payload, headers))
        return 201, {"Location": f"{self.url}/m/{len(self.received)}"}

    def verify_and_decrypt(self, sub, headers, body):
        auth = headers.get("authorization") or ""
        assert auth.startswith("vapid "), f"no VAPID authorization: {auth!r}"
        parts = dict(p.strip().split("=", 1) for p in auth[len("vapid "):].split(","))
        assert parts["k"] == self.app_public_key, "VAPID key is not the application's"
        claims = vapid_jwt.decode(parts["t"], parts["k"])  # raises InvalidSignature
        header = json.loads(base64.urlsafe_b64decode(parts["t"].split(".")[0] + "=="))
        assert header["alg"] == "ES256", header
        assert claims["aud"] == self.url, claims
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
        assert claims["sub"].startswith(("mailto:", "https://")), claims
        assert int(headers.get("ttl") or 0) > 0, "TTL must be set"
        assert headers.get("content-encoding") == "aes128gcm"
        plain = http_ece.decrypt(body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm")
        return json.loads(plain.decode("utf-8"))

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
