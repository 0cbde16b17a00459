"""Dashboards at district scale, on PostgreSQL only:
300 communities, 3,000 grids, 300,000 households (40% in a care category), 3 million visits over
the past year and 30,000 alerts, 30,000 elders checking in daily (~1.2 million check-ins over 45 days) and
30,000 requests, generated in SQL (generate_series, INSERT … SELECT).

Prints the render time of one community's dashboard page (GET /dashboard as its admin: every
panel for the month and the month before; target < 300 ms) and of the district roll-up
(services/dashboard.district_rollup over all communities: the model has no district level;
target < 2 s). Median of 5 after a warm-up.

    BENCH_PG_URL=postgresql://postgres@127.0.0.1:5432/test_h13 .venv/bin/python -m bench.dashboard [--reuse]

--reuse measures again on the data a previous run generated (no drop, no generation).
"""
import contextlib
import sys
import statistics
import time

from sqlalchemy import text

from bench.common import PG_URL, fresh_app

COMMUNITIES, GRIDS, BUILDINGS, HOUSEHOLDS, VISITS, ALERTS = 300, 10, 10, 10, 3_000_000, 30_000

SQL = [
    # communities and their default care categories
    """INSERT INTO community (code, name, settings)
       SELECT '110101' || lpad(c::text, 6, '0'), '社区' || c, '{"high_risk_days": 7}'::json
       FROM generate_series(1, :communities) c""",
    """INSERT INTO care_category (community_id, code, name, level, interval_days, derived)
       SELECT c.id, v.code, v.name, v.level, v.days, v.derived FROM community c CROSS JOIN (VALUES
         ('alone', '独居老人', 'high', 7, false), ('empty_nest', '空巢老人', 'key', 30, false),
         ('aged', '高龄', 'key', 30, true), ('dibao', '低保', 'general', 90, false)) AS v(code, name, level, days, derived)""",
    """INSERT INTO grid (community_id, seq, code, name)
       SELECT c.id, g, c.code || lpad(g::text, 3, '0'), '第' || g || '网格' FROM community c, generate_series(1, :grids) g""",
    """INSERT INTO building (grid_id, name, address)
       SELECT g.id, b || '栋', '' FROM grid g, generate_series(1, :buildings) b""",
    # ids given, so that a building's households lie together as they do when a community is imported
    """INSERT INTO household (id, building_id, unit, room, emergency_contacts, note)
       SELECT (b.id - 1) * :households + h, b.id, '', (100 + h)::text, '[]'::json, ''
       FROM building b, generate_series(1, :households) h ORDER BY 1""",
    "SELECT setval(pg_get_serial_sequence('household', 'id'), (SELECT max(id) FROM household))",
    # one resident per household with the same id (a sequence is drawn before ORDER BY: ids given)
    """INSERT INTO resident (id, community_id, name, initials, sex, birth_date)
       SELECT h.id, g.community_id, '居民' || h.id, 'jm', 'F', DATE '1950-01-01' - ((h.room::int + h.building_id) % 20) * 365
       FROM household h JOIN building b ON b.id = h.building_id JOIN grid g ON g.id = b.grid_id""",
    "SELECT setval(pg_get_serial_sequence('resident', 'id'), (SELECT max(id) FROM resident))",
    """INSERT INTO residency (resident_id, household_id, relation, start_date)
       SELECT id, id, '户主', DATE '2020-01-01' FROM resident""",
    # 40 %: 10 % alone (weekly), 10 % empty-nest (monthly), 20 % dibao (quarterly)
    """INSERT INTO resident_category (resident_id, category_id)
       SELECT r.id, cc.id FROM resident r JOIN household h ON h.id = r.id
       JOIN care_category cc ON cc.community_id = r.community_id
       AND cc.code = CASE h.room::int % 10 WHEN 1 THEN 'alone' WHEN 2 THEN 'empty_nest' WHEN 3 THEN 'dibao'
                                    WHEN 4 THEN 'dibao' END""",
    """INSERT INTO user_account (community_id, username, name, role, password_hash, active, session_token,
                                created_at, must_change_password)
       SELECT g.community_id, 'w' || g.id, '网格员' || g.id, 'worker', 'x', true, md5(g.id::text), now(), false
       FROM grid g""",
    """INSERT INTO grid_assignment (user_id, grid_id)
       SELECT u.id, g.id FROM grid g JOIN user_account u ON u.username = 'w' || g.id""",
    """INSERT INTO user_account (community_id, username, name, role, password_hash, active, session_token,
                                created_at, must_change_password)
       SELECT c.id, 'admin' || c.id, '管理员' || c.id, 'admin', 'x', true, md5('a' || c.id), now(), false
       FROM community c""",
    # 3 million visits over the past year by the grid's worker
    """INSERT INTO visit (uuid, household_id, author_id, mode, occurred_at, recorded_at, received_at,
                         residents_seen, checks, needs, note, urgent)
       SELECT gen_random_uuid()::text, h.id, ga.user_id, 'door', t, t, t + interval '5 minutes',
              '[]'::json, '{}'::json, '[]'::json, '', false
       FROM (SELECT s, (s % :n_households) + 1 AS hid,
                    :now - (((s::bigint * 7919) % 525600) * interval '1 minute') AS t
             FROM generate_series(1, :visits) s) v
       JOIN household h ON h.id = v.hid JOIN building b ON b.id = h.building_id
       JOIN grid_assignment ga ON ga.grid_id = b.grid_id""",
    """INSERT INTO alert (uuid, household_id, source, severity, location, note, state, level, recorded_at,
                         received_at, acknowledged_at, resolved_at, outcome)
       SELECT gen_random_uuid()::text, (s * 10) % :n_households + 1, (ARRAY['sos', 'worker', 'meal'])[s % 3 + 1],
              'high', '', '', 'resolved', 0, t, t, t + ((s % 30) + 1) * interval '1 minute',
              t + ((s % 120) + 10) * interval '1 minute', ''
       FROM (SELECT s, :now - ((s::bigint * 104729) % 86400) * interval '1 minute' AS t
             FROM generate_series(1, :alerts) s) a""",
    # 平安打卡: the 独居 tenth of households enrolled 90 days ago; a check-in at 09:00 on 9 days of 10 over the
    # past 45 days (~1.2 million); a missed-check-in alert on 1 day in 50
    """INSERT INTO checkin_enrolment (household_id, deadline_minutes, active, enrolled_at)
       SELECT h.id, 600, true, :now - interval '90 days' FROM household h WHERE h.room::int % 10 = 1""",
    """INSERT INTO checkin (uuid, household_id, author_id, mode, note, recorded_at, received_at)
       SELECT gen_random_uuid()::text, e.household_id, ga.user_id, 'phone', '', t, t + interval '2 minutes'
       FROM checkin_enrolment e JOIN household h ON h.id = e.household_id JOIN building b ON b.id = h.building_id
       JOIN grid_assignment ga ON ga.grid_id = b.grid_id
       CROSS JOIN generate_series(0, 44) d
       CROSS JOIN LATERAL (SELECT date_trunc('day', :now) - d * interval '1 day' + interval '1 hour' AS t) x
       WHERE (e.household_id + d) % 10 <> 0""",
    """INSERT INTO alert (uuid, household_id, source, severity, location, note, state, level, recorded_at,
                         received_at, outcome)
       SELECT gen_random_uuid()::text, e.household_id, 'checkin', 'high', '', '', 'resolved', 0, t, t, ''
       FROM checkin_enrolment e CROSS JOIN generate_series(0, 44) d
       CROSS JOIN LATERAL (SELECT date_trunc('day', :now) - d * interval '1 day' + interval '2 hours' AS t) x
       WHERE abs(hashtext(e.household_id || ':' || d)) % 50 = 0""",
    # 诉求: the default categories; 30,000 requests over the past 60 days, 9 in 10 handled (1 in 5 late),
    # 1 in 10 sent back before, rated 1-5
    """INSERT INTO request_category (community_id, name, response_minutes, limit_minutes, position, active)
       SELECT c.id, v.name, 240, v.lim, v.pos, true FROM community c CROSS JOIN (VALUES
         ('环境卫生', 960, 0), ('物业维修', 1440, 1), ('邻里纠纷', 2400, 2), ('其他', 2400, 3)) AS v(name, lim, pos)""",
    """INSERT INTO resident_request (uuid, recorded_at, received_at, author_id, community_id, grid_id, household_id,
                                    reporter_name, reporter_phone, channel, category_id, text, location, state,
                                    version, assignee_id, outside_party, respond_by, due_at, rating, level, updated_at)
       SELECT gen_random_uuid()::text, t, t, ga.user_id, g.community_id, g.id, h.id, '', '', 'worker', rc.id, '诉求',
              '', CASE WHEN k % 10 = 0 THEN 'dispatched' ELSE 'closed' END, 3, ga.user_id, '', t,
              t + interval '3 days', CASE WHEN k % 10 = 0 THEN NULL ELSE k % 5 + 1 END, -1, t
       FROM (SELECT s, abs(hashtext('k' || s)) AS k, abs(hashtext('h' || s)) % :n_households + 1 AS hid,
                    :now - ((s::bigint * 7919) % 86400) * interval '1 minute' AS t FROM generate_series(1, 30000) s) r
       JOIN household h ON h.id = r.hid JOIN building b ON b.id = h.building_id JOIN grid g ON g.id = b.grid_id
       JOIN grid_assignment ga ON ga.grid_id = g.id
       JOIN request_category rc ON rc.community_id = g.community_id AND rc.position = r.k % 4""",
    """INSERT INTO request_event (request_id, kind, user_id, at, note, detail)
       SELECT id, 'returned', assignee_id, recorded_at + interval '1 hour', '', '{}'::json
       FROM resident_request WHERE abs(hashtext('b' || id)) % 10 = 1""",
    """INSERT INTO request_event (request_id, kind, user_id, at, note, detail)
       SELECT id, 'handled', assignee_id, recorded_at + (abs(hashtext('a' || id)) % 5) * interval '20 hours', '', '{}'::json
       FROM resident_request WHERE state = 'closed'""",
    "ANALYZE",
]


def generate(now):
    from webapp.extensions import db
    n_households = COMMUNITIES * GRIDS * BUILDINGS * HOUSEHOLDS
    params = dict(communities=COMMUNITIES, grids=GRIDS, buildings=BUILDINGS, households=HOUSEHOLDS,
                  n_households=n_households, visits=VISITS, alerts=ALERTS, now=now)
    for statement in SQL:
        t0 = time.perf_counter()
        db.session.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
        db.session.commit()
        print(f"  {statement.split()[0]} {statement.split()[2] if statement != 'ANALYZE' else ''}: "
              f"{time.perf_counter() - t0:.1f} s")


@contextlib.contextmanager
def reused_app():
    import tempfile
    from webapp import create_app
    from webapp.extensions import db
    folder = tempfile.mkdtemp(prefix="linli-bench-")
    app = create_app({"SECRET_KEY": "bench", "JOBS_INLINE": True, "REDIS_URL": None,
                      "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://" + PG_URL.split("://", 1)[1]},
                     instance_path=folder)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def timed(fn, runs=5):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    from flask_login import FlaskLoginClient
    from webapp import clock
    from webapp.extensions import db
    from webapp.models import Community, User
    from webapp.services import dashboard
    from sqlalchemy import select
    print(f"dashboard bench on {PG_URL}")
    reuse = "--reuse" in sys.argv
    with (reused_app() if reuse else fresh_app("postgresql")) as app:
        now = clock.utcnow().replace(microsecond=0)
        if not reuse:
            t0 = time.perf_counter()
            generate(now)
            print(f"  generated in {time.perf_counter() - t0:.0f} s")
        community = db.session.scalar(select(Community).order_by(Community.id).offset(COMMUNITIES // 2))
        admin = db.session.scalar(select(User).where(User.community_id == community.id, User.role == "admin"))
        app.test_client_class = FlaskLoginClient
        month = f"{now:%Y-%m}"

        def page():
            with app.test_client(user=admin) as c:
                r = c.get(f"/dashboard?month={month}")
                assert r.status_code == 200 and r.data.count(b"<svg") >= 4, r.status_code
        t_page = timed(page)
        print(f"  community dashboard page ({len(dashboard.panels())} panels, this month and last): {t_page * 1000:.0f} ms "
              f"(target < 300 ms) {'OK' if t_page < 0.3 else 'SLOW'}")
        month_start = now.date().replace(day=1)
        rows = dashboard.district_rollup(month_start)
        assert len(rows) == COMMUNITIES
        t_roll = timed(lambda: dashboard.district_rollup(month_start), runs=3)
        print(f"  district roll-up ({COMMUNITIES} communities, {len(rows)} rows): {t_roll * 1000:.0f} ms "
              f"(target < 2000 ms) {'OK' if t_roll < 2 else 'SLOW'}")
        print(f"  e.g. {rows[0]}")


if __name__ == "__main__":
    main()
