"""Fixtures in the flaskr style: an app on a fresh database (SQLite file, or the
PostgreSQL named by TEST_DATABASE_URL), migrated with Flask-Migrate, emptied after each test.

The suite drops and recreates the schema of the database it runs on, so it never
uses DATABASE_URL (a production shell has it set): a run with DATABASE_URL and
no TEST_DATABASE_URL stops before touching anything, and a TEST_DATABASE_URL
that holds tables the suite did not create (no marker table) is refused too."""
import contextvars
import os
import re
import time
import types

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from webapp import create_app
from webapp.extensions import db, limiter
from webapp.models import Building, Grid, Household, User
from webapp import clock
from webapp.services import accounts, demo

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
PG = bool(TEST_DATABASE_URL)
MARKER = "linli_pytest_owned"  # created by the suite in a database it may wipe


def pytest_configure(config):
    production = os.environ.get("DATABASE_URL")
    if production and not TEST_DATABASE_URL:
        pytest.exit("DATABASE_URL is set but TEST_DATABASE_URL is not: the suite wipes its database, "
                    "so it refuses to run against DATABASE_URL. Set TEST_DATABASE_URL to a throwaway "
                    "database (or unset DATABASE_URL for SQLite).", returncode=4)
    if production and production == TEST_DATABASE_URL:
        pytest.exit("TEST_DATABASE_URL is the same database as DATABASE_URL; refusing to wipe it.",
                    returncode=4)
    # Nothing started by the suite (apps, subprocesses, workers) may see the production database.
    os.environ.pop("DATABASE_URL", None)


def _claim_test_database():
    """Refuse a database that holds tables but not the suite's marker; then wipe it and mark it."""
    with db.engine.begin() as conn:
        tables = set(conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
        if tables and MARKER not in tables:
            pytest.exit(f"TEST_DATABASE_URL holds tables the test suite did not create ({len(tables)}, "
                        f"no {MARKER} table); refusing to drop them.", returncode=4)
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
        conn.execute(text(f"CREATE TABLE {MARKER} (created_at timestamp DEFAULT now())"))


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("instance"))


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production, even though the
    test itself holds an app context for its database checks."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(instance_dir):
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "JOBS_INLINE": True}
    if PG:
        url = TEST_DATABASE_URL
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                url = "postgresql+psycopg://" + url[len(prefix):]
        config["SQLALCHEMY_DATABASE_URI"] = url
    else:
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(instance_dir, "test.sqlite")
    app = create_app(config, instance_path=instance_dir)
    app.test_client_class = IsolatedClient
    with app.app_context():
        if PG:
            _claim_test_database()
        upgrade()
    return app


def empty_database():
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    if db.engine.dialect.name != "postgresql":
        with db.engine.begin() as conn:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
        return
    # A process the test started (a live server's last request, a killed worker's connection) may
    # still hold a lock: TRUNCATE waits for it, and if PostgreSQL picks it as a deadlock's victim,
    # it is tried again rather than leaving the next test a database that is not empty.
    for attempt in range(20):
        try:
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(text("TRUNCATE %s RESTART IDENTITY CASCADE" % ", ".join(f'"{t}"' for t in tables)))
            return
        except OperationalError:
            if attempt == 19:
                raise
            time.sleep(0.25)


@pytest.fixture(autouse=True)
def _fresh(app):
    with app.app_context():
        limiter.reset()
        yield
        clock.reset()
        empty_database()


@pytest.fixture
def client(app):
    return app.test_client()


OTHER_CODE = "440105004002"  # the second community
OTHER = "c2_"  # its usernames: c2_admin, c2_leader1, c2_worker1, c2_worker2, c2_volunteer1, c2_resident1


def small_demo(households_per_building=4, buildings_per_grid=2):
    """Community 1 (the demo's accounts: admin, leader1, worker1, worker2, volunteer1, resident1),
    a worker assigned to one micro-grid only (microworker1, on grid 1's first micro-grid), and a
    second community with its own admin, grids, workers and households (usernames c2_...)."""
    community = demo.seed(households_per_building=households_per_building, buildings_per_grid=buildings_per_grid,
                          print_fn=lambda *a: None)
    other = demo.seed(households_per_building=2, buildings_per_grid=2, print_fn=lambda *a: None,
                      code=OTHER_CODE, name="石冲社区", grid_count=2, prefix=OTHER)

    def top_grids(c):
        return db.session.scalars(select(Grid).where(Grid.community_id == c.id, Grid.parent_id.is_(None))
                                  .order_by(Grid.code)).all()

    grids = top_grids(community)
    micro, sibling = sorted(grids[0].children, key=lambda g: g.code)[:2]
    accounts.create_user(community, "microworker1", "赵微网格", "worker", demo.PASSWORD, grids=[micro],
                         password_hash=demo._demo_hash())
    db.session.commit()
    users = {u.username: u for u in db.session.scalars(select(User))}

    def households_in(grid):
        ids = [grid.id] + [g.id for g in grid.children]
        return db.session.scalars(
            select(Household).join(Building).where(Building.grid_id.in_(ids)).order_by(Household.id)).all()

    other_grids = top_grids(other)
    return types.SimpleNamespace(
        community=community, users=users, grids=grids, households_in=households_in,
        grid1=households_in(grids[0]), grid2=households_in(grids[1]),
        micro=micro, sibling=sibling, micro_households=households_in(micro),
        sibling_households=households_in(sibling),
        other=types.SimpleNamespace(community=other, grids=other_grids, grid1=households_in(other_grids[0]),
                                    grid2=households_in(other_grids[1])))


@pytest.fixture
def world(app):
    return small_demo()


def csrf_from(html):
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html[:2000]
    return m.group(1)


def login(client, username, password=demo.PASSWORD):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return csrf_from(client.get("/settings").get_data(as_text=True))


@pytest.fixture
def as_user(app):
    """as_user('worker1') → a logged-in test client with .csrf set."""
    def make(username):
        c = app.test_client()
        c.csrf = login(c, username)
        return c
    return make
