from flask import current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from ... import locales
from ...access import ANY_USER, HOME, allow, public
from ...clock import utcnow
from ...extensions import db
from ...web import navigation
from ..offline.pages import contribute
from . import bp


@bp.route("/")
@allow(ANY_USER)
def home():
    return redirect(url_for(HOME[current_user.role]))


@bp.route("/more")
@allow(ANY_USER)
def more():
    """更多: the pages the bottom bar has no room for."""
    return render_template("main/more.html", links=navigation.more(current_user))


@contribute
def _offline_pages(user):
    if navigation.split(user)[1]:  # the bar links to 更多 only when some pages do not fit
        yield url_for("main.more")


@bp.route("/healthz")
@public
def healthz():
    """For the proxy and the operator: the database, Redis (when the deployment uses it) and the
    age of the scheduler's last tick, so a dead clock shows. 503 when a store does not answer."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as exc:  # the point is to report it, not to raise
        return jsonify(status="error", database=str(exc.__class__.__name__)), 503
    redis = _redis_health()
    from ...services import scheduler
    last = scheduler.last_tick_at()
    return jsonify(status="ok" if redis in ("ok", "not used") else "error", database=database, redis=redis,
                   backend=db.engine.dialect.name,
                   scheduler_last_tick=last.isoformat(timespec="seconds") + "Z" if last else None,
                   scheduler_age_seconds=int((utcnow() - last).total_seconds()) if last else None), \
        200 if redis in ("ok", "not used") else 503


def _redis_health():
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "not used"
    from redis import Redis
    try:
        Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
        return "ok"
    except Exception as exc:  # reported, not raised
        return f"error: {exc.__class__.__name__}"


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_lang(code):
    if locales.supported(code):
        session["lang"] = code
        if current_user.is_authenticated:
            current_user.locale = code
    ref = request.referrer or "/"
    return redirect(ref if ref.startswith(request.host_url) else "/")
