"""邻里 Linli: the application factory."""
import os

from flask import Flask, has_request_context, request, session
from flask_login import current_user

from . import localtime, locales
from .config import Config, _database_url
from .extensions import babel, csrf, db, htmx, limiter, login_manager, migrate


def select_locale():
    if not has_request_context():
        return locales.default()
    lang = request.args.get("lang") or session.get("lang")
    if not lang and current_user and current_user.is_authenticated:
        lang = current_user.locale
    return lang if locales.supported(lang) else locales.default()


def select_timezone():
    """Times on pages are in the signed-in user's community's timezone."""
    community = None
    if has_request_context() and current_user and current_user.is_authenticated:
        community = current_user.community
    return localtime.zone_name(community)


def _trust_proxies(app):
    """werkzeug's ProxyFix with TRUSTED_PROXIES hops (read per request; 0 trusts no header)."""
    from werkzeug.middleware.proxy_fix import ProxyFix
    flask_app = app.wsgi_app

    def inner(environ, start_response):
        """Over HTTPS every cookie is Secure (session and remember-me are set after all
        after_request handlers, so this is done on the way out)."""
        if environ.get("wsgi.url_scheme") != "https":
            return flask_app(environ, start_response)

        def secure_start(status, headers, exc_info=None):
            headers = [(k, v + "; Secure" if k.lower() == "set-cookie" and "; Secure" not in v else v)
                       for k, v in headers]
            return start_response(status, headers, exc_info)
        return flask_app(environ, secure_start)

    def middleware(environ, start_response):
        hops = int(app.config.get("TRUSTED_PROXIES") or 0)
        if hops > 0:
            return ProxyFix(inner, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)(environ, start_response)
        return inner(environ, start_response)

    app.wsgi_app = middleware


def create_app(test_config=None, instance_path=None):
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(Config)
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(app.instance_path)
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        from .ops.secrets import instance_secret
        app.config["SECRET_KEY"] = instance_secret(app, "secret_key")
    # Several processes must share the rate-limit counts: Redis whenever the deployment has it.
    app.config["RATELIMIT_STORAGE_URI"] = (app.config.get("RATELIMIT_STORAGE_URI") or app.config.get("REDIS_URL")
                                           or "memory://")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"),
                     render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    htmx.init_app(app)
    limiter.init_app(app)
    _trust_proxies(app)
    from .web import compression
    compression.install(app)

    from . import models  # noqa: F401  (register the tables)
    from .services import sqlite_tuning
    sqlite_tuning.install(app)

    from .services import records
    records.install(app)  # the list in webapp/kinds.py, checked now
    from .web import inputs
    inputs.install(app)
    from .blueprints import register_all
    register_all(app)

    from .access import enforce_declared
    enforce_declared(app)

    from . import web
    web.install(app)
    from .ops import logs
    logs.install(app)

    from .services import scheduler
    scheduler.autostart(app)

    from . import cli
    cli.register(app)
    return app
