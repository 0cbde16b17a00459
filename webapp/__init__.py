"""邻里 Linli: the application factory."""
import os
import secrets

from flask import Flask, has_request_context, request, session
from flask_login import current_user

from .config import Config, _database_url
from .extensions import babel, csrf, db, htmx, login_manager, migrate


def _instance_secret(app, name, length=32):
    path = os.path.join(app.instance_path, name)
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()
    value = secrets.token_hex(length)
    with open(path, "w") as f:
        f.write(value)
    os.chmod(path, 0o600)
    return value


def select_locale():
    if not has_request_context():
        return "zh_Hans"
    lang = request.args.get("lang") or session.get("lang")
    if not lang and current_user and current_user.is_authenticated:
        lang = current_user.locale
    return lang if lang in ("zh_Hans", "en") else "zh_Hans"


def create_app(test_config=None, instance_path=None):
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_object(Config)
    app.config["SQLALCHEMY_DATABASE_URI"] = _database_url(app.instance_path)
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app, "secret_key")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 30}}

    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(__file__), "migrations"),
                     render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    htmx.init_app(app)

    from . import models  # noqa: F401  (register the tables)
    from .services import sqlite_tuning
    sqlite_tuning.install(app)

    from .services import alerts, visits  # noqa: F401  (register the record kinds)
    from .blueprints import register_all
    register_all(app)

    from .access import enforce_declared
    enforce_declared(app)

    from .views_support import install as install_view_support
    install_view_support(app)

    from .services import scheduler
    scheduler.autostart(app)

    from . import cli
    cli.register(app)
    return app
