"""Fixtures in the flaskr style: an app on a fresh database (SQLite file, or the
PostgreSQL named by DATABASE_URL), migrated with Flask-Migrate, emptied after each test."""
import contextvars
import os
import re
import types

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import select, text

from webapp import create_app
from webapp.extensions import db
from webapp.models import Building, Grid, Household, User
from webapp.services import clock, demo

PG = bool(os.environ.get("DATABASE_URL"))


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
    if not PG:
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(instance_dir, "test.sqlite")
    app = create_app(config, instance_path=instance_dir)
    app.test_client_class = IsolatedClient
    with app.app_context():
        if PG:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
    return app


def empty_database():
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE %s RESTART IDENTITY CASCADE" % ", ".join(f'"{t}"' for t in tables)))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture(autouse=True)
def _fresh(app):
    with app.app_context():
        yield
        clock.reset()
        empty_database()


@pytest.fixture
def client(app):
    return app.test_client()


def small_demo(households_per_building=4, buildings_per_grid=2):
    demo.seed(households_per_building=households_per_building, buildings_per_grid=buildings_per_grid,
              print_fn=lambda *a: None)
    users = {u.username: u for u in db.session.scalars(select(User))}
    grids = db.session.scalars(select(Grid).where(Grid.parent_id.is_(None)).order_by(Grid.code)).all()

    def households_in(grid):
        ids = [grid.id] + [g.id for g in grid.children]
        return db.session.scalars(
            select(Household).join(Building).where(Building.grid_id.in_(ids)).order_by(Household.id)).all()

    return types.SimpleNamespace(users=users, grids=grids, households_in=households_in,
                                 grid1=households_in(grids[0]), grid2=households_in(grids[1]))


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
