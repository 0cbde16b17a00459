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
    # The one locale list: code → (its own name, HTML lang). The first is the default.
    LANGUAGES = {"zh_Hans": ("中文", "zh-CN"), "en": ("English", "en")}
    BABEL_DEFAULT_LOCALE = next(iter(LANGUAGES))
    # A community without its own "timezone" setting lives in this one (webapp/localtime.py).
    DEFAULT_TIMEZONE = os.environ.get("LINLI_TIMEZONE", "Asia/Shanghai")
    BABEL_DEFAULT_TIMEZONE = DEFAULT_TIMEZONE
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
    # Sessions: an absolute lifetime from login, and an idle timeout (last request).
    SESSION_ABSOLUTE_HOURS = float(os.environ.get("LINLI_SESSION_ABSOLUTE_HOURS", 7 * 24))
    SESSION_IDLE_HOURS = float(os.environ.get("LINLI_SESSION_IDLE_HOURS", 3 * 24))
    # Secure cookies: set these to True in production (HTTPS); they are also set per request
    # whenever the request came over HTTPS (see TRUSTED_PROXIES).
    SESSION_COOKIE_SECURE = os.environ.get("LINLI_SECURE_COOKIES") == "1"
    REMEMBER_COOKIE_SECURE = os.environ.get("LINLI_SECURE_COOKIES") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Rate limits (Flask-Limiter): Redis in production so all workers share the counts; unset, the
    # app uses REDIS_URL (however it was configured), and memory only when there is no Redis.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI")
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "linli"
    # Per account (username and phone together): strict, growing waits (back-off), capped at
    # an hour. A device the account signed in from before keeps its own budget, so strangers
    # cannot lock its owner out. Per address: generous, for offices behind one NAT.
    LOGIN_ACCOUNT_LIMITS = "5 per 5 minutes;10 per hour"
    PASSWORD_CHANGE_LIMITS = "5 per 15 minutes;20 per day"  # changing one's password: tries per account
    LOGIN_ADDRESS_LIMITS = "30 per minute;300 per hour"
    JOIN_ADDRESS_LIMITS = "20 per hour"
    JOIN_GLOBAL_LIMITS = "300 per hour"
    SOS_LIMITS = "5 per minute;20 per hour"  # presses that reach the timeline; all are counted
    STAFF_PASSWORD_MIN = 10
    RESET_CODE_HOURS = 72
    # Audit retention (days); never below 6 months for access logs, 3 years for processing.
    AUDIT_ACCESS_RETENTION_DAYS = int(os.environ.get("AUDIT_ACCESS_RETENTION_DAYS", 183))
    AUDIT_PROCESSING_RETENTION_DAYS = int(os.environ.get("AUDIT_PROCESSING_RETENTION_DAYS", 3 * 365 + 1))
    VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY")
    VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY")
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:admin@linli.example")
    # Web Push: the server POSTs only to these push services (exact host, or *.suffix).
    PUSH_SERVICE_HOSTS = [h.strip() for h in os.environ.get(
        "PUSH_SERVICE_HOSTS",
        "fcm.googleapis.com,*.push.services.mozilla.com,*.notify.windows.com,web.push.apple.com").split(",")
        if h.strip()]
    # Tests only: lets the loopback test push service (plain http) through. Never in production.
    # the local push service of the tests only; never in production
    PUSH_ALLOW_INSECURE_LOOPBACK = os.environ.get("PUSH_ALLOW_INSECURE_LOOPBACK") == "1"
    PUSH_MAX_PER_USER = 5
    PUSH_MAX_TRIES = 2  # one retry for 429/5xx/network errors, then the inbox carries the notice
    JOBS_INLINE = False
    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER")  # default: instance/uploads
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")  # "json" in production
    SCHEDULER_TICK_SECONDS = float(os.environ.get("LINLI_TICK_SECONDS", "15"))


class TestConfig(Config):
    TESTING = True
    WTF_CSRF_ENABLED = True
