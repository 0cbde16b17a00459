from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ...access import ANY_USER, allow, public
from ...extensions import db
from ...services import accounts
from . import bp


def _safe_next(target):
    if not target:
        return url_for("main.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
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
                                         request.remote_addr or "")
        except accounts.AccountError as exc:
            error = str(exc)
        else:
            session.permanent = True
            login_user(user, remember=True)
            return redirect(_safe_next(request.args.get("next")))
    status = 200 if error is None else 400
    return render_template("auth/login.html", error=error, login=request.form.get("login", "")), status


@bp.route("/logout", methods=["POST"])
@allow(*ANY_USER)
def logout():
    accounts.end_sessions(current_user)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login", bye=1))


@bp.route("/settings", methods=["GET", "POST"])
@allow(*ANY_USER)
def settings():
    if request.method == "POST":
        lang = request.form.get("lang")
        if lang in ("zh_Hans", "en"):
            current_user.locale = lang
            session["lang"] = lang
            db.session.commit()
        return redirect(url_for("auth.settings"))
    return render_template("auth/settings.html")
