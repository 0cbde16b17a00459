from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from ... import locales
from ...access import ANY_USER, allow, public
from ...services import accounts, push
from ...web.login import DEVICE_COOKIE, start_session
from . import bp


def _safe_next(target):
    if not target:
        return url_for("main.home")
    parts = urlsplit(target)
    # only a path on this site: no scheme or host, no "//" or backslash that a browser may read as one
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("main.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(url_for("main.home"))
    error = None
    if request.method == "POST":
        try:
            user = accounts.authenticate(request.form.get("login"), request.form.get("password"),
                                         request.remote_addr or "", request.cookies.get(DEVICE_COOKIE))
        except accounts.AccountError as exc:
            error = str(exc)
        else:
            start_session(user)
            target = url_for("auth.password") if user.must_change_password else _safe_next(request.args.get("next"))
            response = redirect(target)
            response.set_cookie(DEVICE_COOKIE, accounts.device_token(user), max_age=400 * 24 * 3600,
                                httponly=True, samesite="Lax", path="/login",
                                secure=request.is_secure or current_app.config["SESSION_COOKIE_SECURE"])
            return response
    status = 200 if error is None else 400
    return render_template("auth/login.html", error=error, login=request.form.get("login", "")), status


@bp.route("/logout", methods=["POST"])
@allow(ANY_USER)
def logout():
    push.unsubscribe(current_user, session.get("push_endpoint"))  # this phone stops receiving pushes
    accounts.end_sessions(current_user)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login", bye=1))


@bp.route("/settings", methods=["GET", "POST"])
@allow(ANY_USER)
def settings():
    if request.method == "POST":
        lang = request.form.get("lang")
        if locales.supported(lang):
            current_user.locale = lang
            session["lang"] = lang
        return redirect(url_for("auth.settings"))
    return render_template("auth/settings.html")


@bp.route("/password", methods=["GET", "POST"])
@allow(*ANY_USER)
def password():
    """Change one's own password (the current one is asked for, except right after signing
    in with a one-time reset code). The other sessions end; this one continues."""
    forced = current_user.must_change_password
    error = None
    if request.method == "POST":
        new = request.form.get("new_password") or ""
        try:
            if new != (request.form.get("confirm") or ""):
                raise accounts.AccountError(_("两次输入的新密码不一致。"))
            accounts.change_password(current_user, request.form.get("current_password"), new,
                                     need_current=not forced)
        except accounts.AccountError as exc:
            error = str(exc)
        else:
            start_session(current_user._get_current_object())
            return redirect(url_for("auth.settings", changed=1))
    return render_template("auth/password.html", error=error, forced=forced), 400 if error else 200
