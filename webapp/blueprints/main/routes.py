import hashlib
import json
import os

from flask import abort, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_babel import force_locale
from flask_login import current_user
from sqlalchemy import text

from ...access import ANY_USER, allow, public
from ...extensions import db
from ...views_support import js_strings
from . import bp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@bp.route("/")
@allow(*ANY_USER)
def home():
    role = current_user.role
    if role == "admin":
        return redirect(url_for("admin.index"))
    if role in ("leader", "worker"):
        return redirect(url_for("visits.today"))
    if role == "resident":
        return redirect(url_for("resident.home"))
    return render_template("main/home.html")


@bp.route("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # the point is to report it, not to raise
        db.session.rollback()
        return jsonify(status="error", database=str(exc.__class__.__name__)), 503
    return jsonify(status="ok", database=database, backend=db.engine.dialect.name)


SHELL_FILES = ("service-worker.js", "webapp/static/css/app.css", "webapp/static/js/app.js",
               "webapp/static/js/outbox.js", "webapp/static/vendor/htmx.min.js")


def shell_version():
    """A hash of the app shell: a new release changes the worker, which refreshes its caches."""
    digest = hashlib.sha256()
    for name in SHELL_FILES:
        try:
            with open(os.path.join(ROOT, name), "rb") as f:
                digest.update(f.read())
        except FileNotFoundError:
            digest.update(name.encode())
    return digest.hexdigest()[:12]


@bp.route("/service-worker.js")
@public
def service_worker():
    with open(os.path.join(ROOT, "service-worker.js"), encoding="utf-8") as f:
        script = f.read().replace("__VERSION__", shell_version())
    response = current_app.response_class(script, mimetype="application/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
@public
def manifest():
    static = lambda name: url_for("static", filename=name)  # noqa: E731
    data = {
        "name": "邻里",
        "short_name": "邻里",
        "description": "邻里 · 社区网格服务",
        "lang": "zh-CN",
        "start_url": "/",
        "scope": "/",
        "id": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b3261e",
        "icons": [
            {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static("icons/maskable-192.png"), "sizes": "192x192", "type": "image/png",
             "purpose": "maskable"},
            {"src": static("icons/maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    response = jsonify(data)
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/i18n/<lang>.js")
@public
def i18n_script(lang):
    """The strings the browser's scripts show, from the catalogue, cached with the app shell."""
    if lang not in ("zh_Hans", "en"):
        abort(404)
    with force_locale(lang):
        strings = json.dumps(js_strings(), ensure_ascii=False)
    response = current_app.response_class(f"window.LINLI_T={strings};", mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/offline")
@public
def offline():
    return render_template("main/offline.html")


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_lang(code):
    if code in ("zh_Hans", "en"):
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
            db.session.commit()
    ref = request.referrer or "/"
    return redirect(ref if ref.startswith(request.host_url) else "/")
