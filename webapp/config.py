"""Configuration classes, read from the environment (microblog style)."""
import os
from datetime import timedelta


def _database_url(instance_path):
    url = os.environ.get("DATABASE_URL")
    if not url:
        return "sqlite:///" + os.path.join(instance_path, "linli.sqlite")
    # Use psycopg 3 for PostgreSQL whatever scheme the operator wrote.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")  # filled from the instance folder when unset
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL")
    BABEL_DEFAULT_LOCALE = "zh_Hans"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ["zh_Hans", "en"]
    # A working week in the field without being logged out.
    PERMANENT_SESSION_LIFETIME = timedelta(days=7)
    REMEMBER_COOKIE_DURATION = timedelta(days=7)
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    # The CSRF token lives as long as the session: offline replays may come days later.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    SYNC_MAX_BATCH = 200
    SYNC_MAX_BYTES = 2 * 1024 * 1024
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY")
    VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY")
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:admin@linli.example")
    JOBS_INLINE = False
    SCHEDULER_TICK_SECONDS = float(os.environ.get("LINLI_TICK_SECONDS", "15"))


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
