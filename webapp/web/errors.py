"""Errors answered from one place: JSON under /api/, a page elsewhere."""
from flask import jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError


def _answer(status, code, message, reason=None):
    if request.path.startswith("/api/"):
        return jsonify(error=code, message=message), status
    if status == 404:
        return render_template("errors/404.html"), 404
    return render_template("errors/400.html", reason=reason if reason is not None else message), status


def install(app):
    @app.errorhandler(404)
    def not_found(_e):
        return _answer(404, "not_found", _("没有找到。"))

    @app.errorhandler(400)
    def bad_request(e):
        return _answer(400, "bad_request", _("请求无效。"), getattr(e, "description", ""))

    @app.errorhandler(413)
    def too_large(_e):
        return _answer(413, "too_large", _("提交的数据太大。"), _("文件太大。"))

    @app.errorhandler(500)
    def server_error(_e):
        return _answer(500, "server_error", _("服务器出错了，请稍后再试。已保存在手机上的记录不会丢失。"))

    @app.errorhandler(CSRFError)
    def csrf_error(_e):
        if request.path.startswith("/api/"):
            return _answer(400, "csrf", _("安全令牌已失效，请刷新后重试。"))
        return _answer(400, "csrf", _("页面已过期，请返回刷新后重试。"))
