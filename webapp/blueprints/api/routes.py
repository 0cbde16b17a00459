"""JSON for the phone's outbox: one sync endpoint for every record kind."""
from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ...access import ANY_USER, allow, public
from ...services import records
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


@bp.route("/openapi.json")
@public
def openapi():
    return jsonify(document())
