"""Helpers for benchmarks: an app on a fresh database (temporary SQLite, or PostgreSQL)."""
import contextlib
import os
import tempfile

from flask_migrate import upgrade
from sqlalchemy import text

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def fresh_app(backend="sqlite", **config):
    from webapp import create_app
    from webapp.extensions import db
    folder = tempfile.mkdtemp(prefix="linli-bench-")
    cfg = {"SECRET_KEY": "bench", "JOBS_INLINE": True, "REDIS_URL": None, **config}
    if backend == "sqlite":
        cfg["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(folder, "bench.sqlite")
    else:
        cfg["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + PG_URL.split("://", 1)[1]
    app = create_app(cfg, instance_path=folder)
    with app.app_context():
        if backend != "sqlite":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def backends():
    """SQLite always; PostgreSQL when it answers."""
    found = ["sqlite"]
    try:
        import psycopg
        psycopg.connect(PG_URL, connect_timeout=2).close()
        found.append("postgresql")
    except Exception as exc:  # report, don't hide
        print(f"  (PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__})")
    return found
