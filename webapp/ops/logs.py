"""Structured logs an operator can search: JSON lines, each with the request id.

Every request gets an id (the proxy's X-Request-ID when it is a sane token, else a new
one), echoed in the response, attached to every log line written while it is handled,
and one access line per request: method, path, status, duration, user.
LOG_FORMAT=json turns the JSON output on (production); the default stays readable text.
"""
import logging
import re
import sys
import time
import uuid

from flask import g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
access_log = logging.getLogger("linli.access")


class RequestId(logging.Filter):
    def filter(self, record):
        record.request_id = g.get("request_id") if has_request_context() else None
        return True


def configure(level=logging.INFO):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                                       rename_fields={"asctime": "time", "levelname": "level"}))
    handler.addFilter(RequestId())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def install(app):
    if app.config.get("LOG_FORMAT") == "json":
        configure()

    @app.before_request
    def _request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _access(response):
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-ID"] = rid
            from flask_login import current_user
            user = current_user.get_id() if current_user and current_user.is_authenticated else None
            access_log.info("request", extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "ms": round((time.perf_counter() - g.started) * 1000, 1),
                "user": user.split(":")[0] if user else None,
                "address": request.remote_addr})
        return response
