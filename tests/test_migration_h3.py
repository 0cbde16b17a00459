"""The h3_1 migration on a database with data: notices keep their alert as subject, and
duplicate open system alerts left by an old race are merged before the guard is added."""
import os

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from webapp import create_app
from webapp.extensions import db

from .conftest import PG

ALERT_COLS = ("uuid, recorded_at, received_at, household_id, source, severity, location, note, state, level, "
              "outcome")


@pytest.fixture
def scratch(tmp_path):
    """An app on a database of its own (PostgreSQL: a schema of its own)."""
    if PG:
        url = os.environ["TEST_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
        admin = create_engine(url)
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS mig_h3 CASCADE"))
            conn.execute(text("CREATE SCHEMA mig_h3"))
        uri = url + ("&" if "?" in url else "?") + "options=-csearch_path%3Dmig_h3"
    else:
        uri = "sqlite:///" + str(tmp_path / "mig.sqlite")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri},
                     instance_path=str(tmp_path))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if PG:
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS mig_h3 CASCADE"))
        admin.dispose()


def test_upgrade_keeps_notices_and_merges_duplicate_system_alerts(scratch):
    upgrade(revision="a4db7c0815ed")
    with db.engine.begin() as conn:  # the rows of that revision's schema (today's models have more columns)
        conn.execute(text("INSERT INTO community (id, code, name, settings) VALUES (1, '310000001', 'c', '{}')"))
        conn.execute(text("INSERT INTO grid (id, community_id, seq, code, name) VALUES (1, 1, 1, '31000000101', 'g')"))
        conn.execute(text("INSERT INTO building (id, grid_id, name, address) VALUES (1, 1, '1栋', '')"))
        conn.execute(text("INSERT INTO household (id, building_id, unit, room, emergency_contacts, note) "
                          "VALUES (1, 1, '', '101', '[]', ''), (2, 1, '', '102', '[]', '')"))
        conn.execute(text("INSERT INTO user_account (id, community_id, username, name, role, password_hash, active, "
                          "session_token, created_at) VALUES (1, 1, 'w', 'w', 'worker', 'x', :t, '0', "
                          "'2026-11-01 00:00:00')"), {"t": True})
    with db.engine.begin() as conn:
        h1, h2 = conn.execute(text("SELECT id FROM household ORDER BY id LIMIT 2")).scalars().all()
        user = conn.execute(text("SELECT id FROM user_account ORDER BY id LIMIT 1")).scalar()
        rows = [("a1", h1, "system", "open"), ("a2", h1, "system", "acknowledged"), ("a3", h1, "system", "open"),
                ("a4", h1, "sos", "open"), ("a5", h2, "system", "open"), ("a6", h2, "system", "resolved")]
        for uid, hid, source, state in rows:
            conn.execute(text(f"INSERT INTO alert ({ALERT_COLS}) VALUES (:u, '2026-11-01 00:00:00', "
                              "'2026-11-01 00:00:00', :h, :s, 'medium', '', '', :st, 0, '')"),
                         {"u": uid, "h": hid, "s": source, "st": state})
        ids = dict(conn.execute(text("SELECT uuid, id FROM alert")).all())
        conn.execute(text("INSERT INTO notice (user_id, alert_id, title, body, url, created_at) "
                          "VALUES (:u, :a, 't', '', '/', '2026-11-01 00:00:00'), "
                          "(:u, NULL, 'plain', '', '/', '2026-11-01 00:00:00')"), {"u": user, "a": ids["a3"]})
    upgrade()
    with db.engine.begin() as conn:
        notices = conn.execute(text("SELECT title, subject_type, subject_id FROM notice ORDER BY id")).all()
        assert [tuple(n) for n in notices] == [("t", "alert", ids["a3"]), ("plain", None, None)]
        states = dict(conn.execute(text("SELECT uuid, state FROM alert")).all())
        # h3_1: the oldest open system alert of h1 stays, the later duplicates are closed; then h10a_1
        # closes every open system alert (overdue is no emergency any more); others untouched
        assert states == {"a1": "resolved", "a2": "resolved", "a3": "resolved", "a4": "open", "a5": "resolved",
                          "a6": "resolved"}
        # issue 10 (h10a_1): overdue is not an emergency; the open system alerts left are closed, with an event
        closed = conn.execute(text("SELECT a.uuid, e.kind FROM alert_event e JOIN alert a ON a.id = e.alert_id "
                                   "ORDER BY a.uuid")).all()
        assert [tuple(row) for row in closed] == [("a1", "resolved"), ("a5", "resolved")]
    with db.engine.begin() as conn:  # one open system alert per household is allowed again
        conn.execute(text(f"INSERT INTO alert ({ALERT_COLS}) VALUES ('a7', '2026-11-01 00:00:00', "
                          "'2026-11-01 00:00:00', :h, 'system', 'medium', '', '', 'open', 0, '')"), {"h": h2})
    with pytest.raises(IntegrityError):  # the guard is in place
        with db.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO alert ({ALERT_COLS}) VALUES ('a8', '2026-11-01 00:00:00', "
                              "'2026-11-01 00:00:00', :h, 'system', 'medium', '', '', 'open', 0, '')"), {"h": h2})
    downgrade(revision="a4db7c0815ed")
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT alert_id FROM notice WHERE title = 't'")).scalar() == ids["a3"]
