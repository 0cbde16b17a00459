"""JSON for the phone's outbox: one sync endpoint for every record kind."""
from flask import current_app, jsonify, request, session
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ...access import ANY_USER, allow, public
from ...clock import utcnow
from ...services import push, records, team
from ...services.openapi import document
from . import bp


def error(status, code, message):
    return jsonify(error=code, message=message), status


@bp.route("/session")
@allow(ANY_USER)
def session_info():
    """Who the cookies belong to, and a CSRF token for /api/sync."""
    return jsonify(user=current_user.id, role=current_user.role, csrf_token=generate_csrf())


@bp.route("/sync", methods=["POST"])
@allow(ANY_USER)
def sync():
    if request.content_length and request.content_length > current_app.config["SYNC_MAX_BYTES"]:
        return error(413, "too_large", _("一次提交的数据太大，请分批同步。"))
    try:
        body = records.loads(request.get_data(cache=False)) if request.is_json else None
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        return error(400, "malformed", _("数据格式不正确：需要 JSON 对象 {\"records\": [...]}。"))
    batch = body["records"]
    limit = current_app.config["SYNC_MAX_BATCH"]
    if len(batch) > limit:
        return error(413, "batch_too_large", _("一次最多同步%(n)s条记录。", n=limit))
    results = records.ingest(current_user, batch)
    # the phone's own counts (optional, top level): its outbox as it was when it sent this batch
    team.record_device(current_user, body.get("device"), utcnow())
    return jsonify(results=results)


@bp.route("/push/key")
@allow(ANY_USER)
def push_key():
    return jsonify(publicKey=push.public_key())


@bp.route("/push/subscribe", methods=["POST"])
@allow(ANY_USER)
def push_subscribe():
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    keys = body.get("keys") if isinstance(body.get("keys"), dict) else {}
    endpoint, p256dh, auth = body.get("endpoint"), keys.get("p256dh"), keys.get("auth")
    if not all(isinstance(v, str) and 0 < len(v) < limit and v.isascii() and v.isprintable()
               for v, limit in ((endpoint, 1000), (p256dh, 200), (auth, 100))):
        return error(400, "malformed", _("订阅信息不完整。"))
    try:
        push.subscribe(current_user, endpoint, p256dh, auth)
    except push.EndpointError:
        return error(400, "not_a_push_service", _("这个推送地址不是受支持的推送服务。"))
    except push.EndpointTaken:
        return error(409, "taken", _("这部手机的通知已绑定其他账号。请先在该账号退出登录，再开启通知。"))
    session["push_endpoint"] = endpoint  # logging out on this phone removes this subscription
    return jsonify(status="subscribed")


@bp.route("/push/unsubscribe", methods=["POST"])
@allow(ANY_USER)
def push_unsubscribe():
    body = request.get_json(silent=True)
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not 0 < len(endpoint) <= 1000 or not endpoint.isprintable():
        return error(400, "malformed", _("订阅信息不完整。"))
    push.unsubscribe(current_user, endpoint)
    if session.get("push_endpoint") == body["endpoint"]:
        session.pop("push_endpoint")
    return jsonify(status="unsubscribed")


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(document())
