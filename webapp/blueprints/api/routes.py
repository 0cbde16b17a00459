"""JSON for the phone's outbox: one sync endpoint for every record kind."""
from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ...access import ANY_USER, allow, public
from ...services import push, records
from ...services.openapi import document
from . import bp


def error(status, code, message):
    return jsonify(error=code, message=message), status


@bp.route("/session")
@allow(*ANY_USER)
def session_info():
    """Who the cookies belong to, and a CSRF token for /api/sync."""
    return jsonify(user=current_user.id, role=current_user.role, csrf_token=generate_csrf())


@bp.route("/sync", methods=["POST"])
@allow(*ANY_USER)
def sync():
    if request.content_length and request.content_length > current_app.config["SYNC_MAX_BYTES"]:
        return error(413, "too_large", _("一次提交的数据太大，请分批同步。"))
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return error(400, "malformed", _("数据格式不正确：需要 JSON 对象 {\"records\": [...]}。"))
    batch = body["records"]
    limit = current_app.config["SYNC_MAX_BATCH"]
    if len(batch) > limit:
        return error(413, "batch_too_large", _("一次最多同步%(n)s条记录。", n=limit))
    return jsonify(results=records.ingest(current_user, batch))


@bp.route("/push/key")
@allow(*ANY_USER)
def push_key():
    return jsonify(publicKey=push.public_key())


@bp.route("/push/subscribe", methods=["POST"])
@allow(*ANY_USER)
def push_subscribe():
    body = request.get_json(silent=True) or {}
    keys = body.get("keys") if isinstance(body.get("keys"), dict) else {}
    endpoint, p256dh, auth = body.get("endpoint"), keys.get("p256dh"), keys.get("auth")
    if not all(isinstance(v, str) and 0 < len(v) < 1000 for v in (endpoint, p256dh, auth)) \
            or not endpoint.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        return error(400, "malformed", _("订阅信息不完整。"))
    push.subscribe(current_user, endpoint, p256dh, auth)
    return jsonify(status="subscribed")


@bp.route("/push/unsubscribe", methods=["POST"])
@allow(*ANY_USER)
def push_unsubscribe():
    body = request.get_json(silent=True) or {}
    if isinstance(body.get("endpoint"), str):
        push.unsubscribe(current_user, body["endpoint"])
    return jsonify(status="unsubscribed")


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(document())
