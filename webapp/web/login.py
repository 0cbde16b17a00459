"""Who is asking: the session's user, how long a session lives, and what anonymous requests get."""
from datetime import datetime

from flask import current_app, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from ..clock import utcnow
from ..extensions import db, login_manager
from ..models import User

# A signed cookie "this browser signed in as this account before" (see accounts.authenticate).
DEVICE_COOKIE = "linli_device"
_EPOCH = datetime(1970, 1, 1)

# Endpoints a user who must choose a new password can still reach.
_WHILE_FORCED = {"auth.password", "auth.logout", "static", "offline.service_worker", "offline.i18n_script",
                 "offline.manifest", "offline.offline", "offline.outbox", "main.healthz"}


def _now():
    return (utcnow() - _EPOCH).total_seconds()


def start_session(user):
    """Sign in (again, after a password change: the token changed): stamps login time."""
    session.permanent = True
    login_user(user, remember=True)
    session["login_at"] = session["seen_at"] = _now()


def install(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_user(value):
        try:
            user_id, token = value.split(":", 1)
            user = db.session.get(User, int(user_id))
        except (ValueError, AttributeError, OverflowError):
            return None
        if user is None or user.session_token != token or not user.active:
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.path.startswith("/api/"):
            return jsonify(error="unauthenticated", message=_("登录已过期，请重新登录。")), 401
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))

    @app.before_request
    def _session_limits():
        """An absolute lifetime from sign-in and an idle timeout, both configurable."""
        if request.endpoint == "static" or not current_user.is_authenticated:
            return None
        now = _now()
        login_at = session.get("login_at")
        seen_at = session.get("seen_at", login_at)
        if login_at is None:  # restored from the remember-me cookie: a session starts now
            session["login_at"] = session["seen_at"] = now
            return None
        cfg = current_app.config
        if now - login_at > cfg["SESSION_ABSOLUTE_HOURS"] * 3600 or \
                now - (seen_at or now) > cfg["SESSION_IDLE_HOURS"] * 3600:
            logout_user()
            session.pop("login_at", None)
            session.pop("seen_at", None)
            return None
        session["seen_at"] = now
        if current_user.must_change_password and request.endpoint not in _WHILE_FORCED:
            if request.path.startswith("/api/"):
                return jsonify(error="password_change", message=_("请先设置新密码。")), 403
            return redirect(url_for("auth.password"))
        return None
