"""The embedded mode (SQLite in the instance folder) must enforce what PostgreSQL enforces.

`make run` migrates, seeds and serves from one database; a connection left without foreign keys
by a migration would store rows that point at nothing (a visit to a household that does not exist)."""
import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from webapp import create_app
from webapp.extensions import db


def test_after_migrating_every_connection_refuses_a_row_pointing_at_nothing(tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.sqlite'}"},
                     instance_path=str(tmp_path))
    with app.app_context():
        upgrade()
        connections = [db.engine.connect() for _ in range(6)]  # the pooled ones and new ones
        try:
            for conn in connections:
                with pytest.raises(IntegrityError):
                    with conn.begin():
                        conn.execute(text("INSERT INTO notice (user_id, title, body, url, created_at) "
                                          "VALUES (999999, 't', '', '/', '2026-11-01 00:00:00')"))
        finally:
            for conn in connections:
                conn.close()
            db.engine.dispose()
