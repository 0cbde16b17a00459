"""The suite wipes the database it runs on, so it must never run on DATABASE_URL:
a bare `pytest` in a production shell stops before touching anything."""
import os
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from .conftest import PG, TEST_DATABASE_URL

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pytest(env, tmp_path):
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL")}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_i18n.py"],
                          cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=300)


def test_bare_pytest_with_only_database_url_refuses_and_keeps_the_data(tmp_path):
    prod = tmp_path / "production.sqlite"
    with sqlite3.connect(prod) as conn:
        conn.execute("CREATE TABLE household (id integer primary key, address text)")
        conn.execute("INSERT INTO household (address) VALUES ('1-101')")
    done = _pytest({"DATABASE_URL": f"sqlite:///{prod}"}, tmp_path)
    assert done.returncode != 0, done.stdout[-2000:]
    assert "TEST_DATABASE_URL" in done.stdout + done.stderr
    with sqlite3.connect(prod) as conn:
        assert conn.execute("SELECT address FROM household").fetchall() == [("1-101",)]
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["household"]


@pytest.mark.skipif(not PG, reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_postgres_database_url_is_never_wiped(app):
    """The production shell's DATABASE_URL points at a PostgreSQL with data: refused, table intact.
    The same database given as TEST_DATABASE_URL without the suite's marker is refused too."""
    url = TEST_DATABASE_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE prod_canary (id integer primary key, note text)"))
        conn.execute(text("INSERT INTO prod_canary VALUES (1, 'keep me')"))
    try:
        done = _pytest({"DATABASE_URL": TEST_DATABASE_URL}, None)
        assert done.returncode != 0, done.stdout[-2000:]
        with engine.connect() as conn:
            assert conn.execute(text("SELECT note FROM prod_canary")).scalars().all() == ["keep me"]
            conn.execute(text("DROP TABLE linli_pytest_owned"))
            conn.commit()
        done = _pytest({"TEST_DATABASE_URL": TEST_DATABASE_URL}, None)  # a database the suite did not create
        assert done.returncode != 0, done.stdout[-2000:]
        assert "did not create" in done.stdout + done.stderr
        with engine.connect() as conn:
            assert conn.execute(text("SELECT note FROM prod_canary")).scalars().all() == ["keep me"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS prod_canary"))
            conn.execute(text("CREATE TABLE IF NOT EXISTS linli_pytest_owned (created_at timestamp DEFAULT now())"))
        engine.dispose()
