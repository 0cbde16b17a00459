"""What every view shares: the user loader, template helpers, headers and errors."""
from flask import jsonify, render_template, request
from flask_babel import format_datetime, get_locale, gettext as _
from flask_login import current_user

from .extensions import db, login_manager
from .models import User
from .services import identity, push, registry, scope
from .services.clock import utcnow


def js_strings():
    """Strings the browser's scripts show, taken from the catalogue like all UI text."""
    return {
        "saved": _("已保存在本机，联网后自动同步"),
        "waiting": _("待同步"),
        "stuck": _("未被接受"),
        "offline": _("离线中"),
        "preparing": _("正在准备离线数据…"),
        "prepared": _("离线数据已准备好"),
        "prepareFailed": _("准备离线失败，请联网后重试"),
        "oldRecords": _("有记录超过3天未同步，请尽快联网同步，以免手机清理数据时丢失。"),
        "relogin": _("登录已过期，请重新登录后同步。"),
        "cachedAt": _("离线查看，页面更新于"),
        "sosQueued": _("没有网络：求助已保存，联网后立即发送。请直接拨打电话："),
        "sosSent": _("求助已发出，网格员会尽快联系您。"),
        "pushOn": _("已开启通知"),
        "pushOff": _("已关闭通知"),
        "pushUnsupported": _("此浏览器不支持通知"),
        "confirmDrop": _("确定删除这条记录吗？删除后无法恢复。"),
    }


def install(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(value):
        try:
            user_id, token = value.split(":", 1)
            user = db.session.get(User, int(user_id))
        except (ValueError, AttributeError):
            return None
        if user is None or user.session_token != token or not user.active:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.path.startswith("/api/"):
            return jsonify(error="unauthenticated", message=_("登录已过期，请重新登录。")), 401
        from flask import redirect, url_for
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))

    @app.context_processor
    def helpers():
        user = current_user if current_user.is_authenticated else None
        return {
            "mask_phone": identity.mask_phone,
            "mask_id": identity.mask_id,
            "full_id": bool(user and scope.sees_full_id(user)),
            "elder": bool(user and user.role == "resident") or request.cookies.get("elder") == "1",
            "role_names": role_names(),
            "get_locale": get_locale,
            "unread_notices": lambda: push.unread_count(user) if user else 0,
            "care_labels": registry.care_labels,
            "now_iso": utcnow().isoformat(timespec="seconds") + "Z",
        }

    @app.template_filter("local")
    def local_time(value, fmt="yyyy-MM-dd HH:mm"):
        return format_datetime(value, fmt) if value else ""

    @app.after_request
    def vary(response):
        if response.mimetype == "text/html":
            response.headers.add("Vary", "HX-Request")
            response.headers.setdefault("Cache-Control", "no-cache")
        return response

    @app.errorhandler(404)
    def not_found(_e):
        if request.path.startswith("/api/"):
            return jsonify(error="not_found", message=_("没有找到。")), 404
        return render_template("errors/404.html"), 404

    @app.errorhandler(400)
    def bad_request(e):
        if request.path.startswith("/api/"):
            return jsonify(error="bad_request", message=_("请求无效。")), 400
        return render_template("errors/400.html", reason=getattr(e, "description", "")), 400

    @app.errorhandler(413)
    def too_large(_e):
        if request.path.startswith("/api/"):
            return jsonify(error="too_large", message=_("提交的数据太大。")), 413
        return render_template("errors/400.html", reason=_("文件太大。")), 413

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        if request.path.startswith("/api/"):
            return jsonify(error="csrf", message=_("安全令牌已失效，请刷新后重试。")), 400
        return render_template("errors/400.html", reason=_("页面已过期，请返回刷新后重试。")), 400


def wants_fragment():
    """An htmx request for part of a page (not htmx restoring history, which needs the whole page)."""
    from .extensions import htmx
    return bool(htmx) and not htmx.history_restore_request


def role_names():
    return {
        "admin": _("社区管理员"),
        "leader": _("网格长"),
        "worker": _("网格员"),
        "volunteer": _("志愿者/楼长"),
        "resident": _("居民"),
    }
