"""Dashboard, team view, monthly evaluation and zero report, against figures worked out by hand.

The fixture (community 翠城, Asia/Shanghai = UTC+8; the month judged is October 2026, 31 days;
the clock stands at 2026-11-05 12:00 local):

  G1 (worker w1, leader L1): h1 独居 (7 days), h2 空巢 (30), h3 低保 (90)
  G2 (worker w2):            h4 低保 (90), h5 独居 + 低保 (7 for the household), h6 no category
  G3 (no worker):            h7 born 1940: 高龄 (derived, 30)
A second community has its own visits and alerts in October: never counted here.

Visits (local times; occurred_at = recorded_at; "late" ones reached the server days later):
  h1 (w1): Sep 28; Oct 2, 9, 16; Oct 10 a correction of Oct 9 (not a visit); Oct 30 received Nov 3 (late)
  h2 (w1): Sep 30 received Oct 2 (late: belongs to September); Oct 20
  h3 (w1): Sep 10
  h4 (w2): Oct 5        h5 (w2): Oct 5, Oct 22        h1 (w1): Nov 5 (today)
"""
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from webapp import clock
from webapp.extensions import db
from webapp.models import (Alert, Building, CareCategory, Delivery, DeviceSync, Household, MealRecipient, Residency,
                           Resident, Visit, ZeroReport)
from webapp.services import accounts, dashboard, registry, team

from .conftest import csrf_from

PW = "linli-demo-password"
NOW = datetime(2026, 11, 5, 4, 0)  # 12:00 in Shanghai
OCT = date(2026, 10, 1)


def utc(month, day, hour=10, minute=0, year=2026):
    """A Shanghai wall time as the naive UTC the database stores."""
    return datetime(year, month, day, hour, minute) - timedelta(hours=8)


class World:
    pass


def _community(code, name, grids):
    c = registry.create_community(code, name)
    db.session.flush()
    gs = [registry.save_grid(c, g) for g in grids]
    cats = {cat.code: cat for cat in registry.categories(c.id)}
    return c, gs, cats


def _household(grid, room, cats, codes=(), born=date(1960, 1, 1)):
    b = db.session.scalar(select(Building).where(Building.grid_id == grid.id))
    if b is None:
        b = Building(grid_id=grid.id, name=f"{grid.id}栋")
        db.session.add(b)
        db.session.flush()
    h = Household(building_id=b.id, room=room)
    db.session.add(h)
    db.session.flush()
    r = Resident(community_id=grid.community_id, name="住户" + room, sex="F", birth_date=born)
    r.categories = [cats[c] for c in codes]
    db.session.add(r)
    db.session.flush()
    db.session.add(Residency(resident_id=r.id, household_id=h.id, start_date=date(2020, 1, 1)))
    db.session.flush()
    return h, r


def visit(h, author, when, received=None, amends=None):
    v = Visit(uuid=str(uuid.uuid4()), household_id=h.id, author_id=author.id, mode="door", occurred_at=when,
              recorded_at=when, received_at=received or when + timedelta(minutes=1), checks={}, amends=amends)
    db.session.add(v)
    db.session.flush()
    return v


def alert(h, source, raised, ack=None, by=None, resolved=None, author=None, received=None):
    a = Alert(uuid=str(uuid.uuid4()), household_id=h.id, source=source, recorded_at=raised,
              received_at=received or raised, author_id=author.id if author else None,
              state="resolved" if resolved else ("acknowledged" if ack else "open"),
              acknowledged_at=raised + timedelta(minutes=ack) if ack is not None else None,
              acknowledged_by=by.id if by else None,
              resolved_at=raised + timedelta(minutes=resolved) if resolved is not None else None)
    db.session.add(a)
    return a


@pytest.fixture
def w(app):
    clock.freeze(NOW)
    x = World()
    c, (g1, g2, g3), cats = _community("110101001001", "翠城社区", ["第1网格", "第2网格", "第3网格"])
    x.c, x.g1, x.g2, x.g3 = c, g1, g2, g3
    mk = lambda name, role, grids=(): accounts.create_user(c, name, name, role, PW, grids=grids)  # noqa: E731
    x.admin, x.leader, x.w1, x.w2 = mk("a_admin", "admin"), mk("a_leader", "leader", [g1]), \
        mk("a_w1", "worker", [g1]), mk("a_w2", "worker", [g2])
    x.vol = mk("a_vol", "volunteer")
    x.h1, r1 = _household(g1, "101", cats, ["alone"])
    x.h2, _r = _household(g1, "102", cats, ["empty_nest"])
    x.h3, _r = _household(g1, "103", cats, ["dibao"])
    x.h4, r4 = _household(g2, "201", cats, ["dibao"])
    x.h5, _r = _household(g2, "202", cats, ["alone", "dibao"])
    x.h6, _r = _household(g2, "203", cats, [])
    x.h7, _r = _household(g3, "301", cats, [], born=date(1940, 3, 3))
    w1, w2 = x.w1, x.w2
    visit(x.h1, w1, utc(9, 28))
    visit(x.h1, w1, utc(10, 2))
    v9 = visit(x.h1, w1, utc(10, 9))
    visit(x.h1, w1, utc(10, 10), amends=v9.uuid)
    visit(x.h1, w1, utc(10, 16))
    visit(x.h1, w1, utc(10, 30), received=utc(11, 3))  # late sync: counts for October
    visit(x.h2, w1, utc(9, 30, 20), received=utc(10, 2))  # late sync: counts for September
    visit(x.h2, w1, utc(10, 20))
    visit(x.h3, w1, utc(9, 10))
    visit(x.h4, w2, utc(10, 5))
    visit(x.h5, w2, utc(10, 5))
    visit(x.h5, w2, utc(10, 22))
    visit(x.h1, w1, utc(11, 5, 9))  # today
    # alerts (minutes after being raised)
    alert(x.h1, "sos", utc(10, 3), ack=4, by=w1, resolved=60)
    alert(x.h2, "sos", utc(10, 12), ack=10, by=w1, resolved=30)
    alert(x.h4, "sos", utc(10, 14), ack=2, by=w2, resolved=100)
    alert(x.h4, "sos", utc(10, 15), ack=20, by=w2)
    alert(x.h5, "worker", utc(10, 20), ack=6, by=w2, resolved=6, author=w2)
    alert(x.h1, "sos", utc(10, 31, 23, 50), received=utc(11, 1, 9))  # raised offline on Oct 31: October's
    alert(x.h1, "sos", utc(9, 15), ack=30, by=w1, resolved=40)  # September
    # meals: a recipient in G1 (h1) and one in G2 (h4)
    m1 = MealRecipient(community_id=c.id, resident_id=r1.id, household_id=x.h1.id)
    m4 = MealRecipient(community_id=c.id, resident_id=r4.id, household_id=x.h4.id)
    db.session.add_all([m1, m4])
    db.session.flush()
    for rec, day, outcome, escalated in ((m1, 1, "delivered", False), (m1, 2, "delivered", False),
                                         (m1, 3, "delivered", False), (m1, 4, "no_answer", True),
                                         (m1, 5, "no_answer", False), (m1, 6, "refused", False),
                                         (m4, 6, "delivered", False)):
        when = utc(10, day, 11)
        db.session.add(Delivery(uuid=str(uuid.uuid4()), author_id=x.vol.id, recipient_id=rec.id,
                                day=date(2026, 10, day), outcome=outcome, occurred_at=when, recorded_at=when,
                                received_at=when, escalated_at=when if escalated else None))
    db.session.add(Delivery(uuid=str(uuid.uuid4()), author_id=x.vol.id, recipient_id=m1.id, day=date(2026, 9, 30),
                            outcome="delivered", occurred_at=utc(9, 30, 11), recorded_at=utc(9, 30, 11),
                            received_at=utc(9, 30, 11)))
    db.session.add(ZeroReport(uuid=str(uuid.uuid4()), grid_id=g2.id, day=date(2026, 11, 5), author_id=w2.id,
                              recorded_at=NOW, received_at=NOW))
    # the other community: a household with visits and alerts in October
    c2, (o1,), cats2 = _community("110101001002", "石冲社区", ["第1网格"])
    ow = accounts.create_user(c2, "b_w1", "b_w1", "worker", PW, grids=[o1])
    x.b_admin = accounts.create_user(c2, "b_admin", "b_admin", "admin", PW)
    oh, _r = _household(o1, "101", cats2, ["alone"])
    for d in (1, 8, 15, 22, 29):
        visit(oh, ow, utc(10, d))
    alert(oh, "sos", utc(10, 2), ack=1, by=ow, resolved=2)
    db.session.commit()
    return x


def panel(ctx, name):
    p = dashboard.one(ctx, name)
    assert p is not None, name
    return p


def figures_of(rows, key=0):
    return {r[key]: r for r in rows}


def test_coverage_by_grid_and_overdue(w):
    ctx = dashboard.Ctx(w.c, {w.g1.id, w.g2.id, w.g3.id}, OCT)
    rows = {r[1]: r[2:] for r in panel(ctx, "coverage_grid").rows}
    # [care households, due, covered, %, overdue]
    # G1: h1 weekly: 31 // 7 = 4 due, visited Oct 2, 9, 16, 30 (the correction is not a visit) = 4 → covered;
    #     h2 monthly: 1 due, Oct 20 → covered; h3 quarterly, last Sep 10, due again Dec 9 → not due.
    #     due 2, covered 2, 100%; overdue on Oct 31: h1 last Oct 30 (+7 ≥ Oct 31), h2 Oct 20, h3 Sep 10 → 0
    assert rows["第1网格"] == [3, 2, 2, 100.0, 0]
    # G2: h4 quarterly never visited before October → 1 due, Oct 5 → covered; h5 weekly → 4 due, 2 visits → not;
    #     h6 no category: not counted. 2 due, 1 covered = 50%. Overdue: h5 last Oct 22 + 7 = Oct 29 < Oct 31 → 1
    assert rows["第2网格"] == [2, 2, 1, 50.0, 1]
    # G3: h7 80+ (高龄, monthly), never visited: due 1, covered 0, overdue 1
    assert rows["第3网格"] == [1, 1, 0, 0.0, 1]
    p = panel(ctx, "coverage_grid")
    assert p.figures == {"覆盖率%": 60.0}  # (2 + 1 + 0) / (2 + 2 + 1) = 3 / 5
    over = {r[1]: r[2] for r in panel(ctx, "overdue").rows}
    assert over == {"第1网格": 0, "第2网格": 1, "第3网格": 1}


def test_coverage_by_category(w):
    ctx = dashboard.Ctx(w.c, {w.g1.id, w.g2.id, w.g3.id}, OCT)
    rows = {r[0]: r[2:] for r in panel(ctx, "coverage_category").rows}
    # [interval, households, due, covered, %]
    # 独居 (7): h1 4/4 covered, h5 2/4 not → 2 households, 2 due, 1 covered
    assert rows["独居老人"] == [7, 2, 2, 1, 50.0]
    assert rows["空巢老人"] == [30, 1, 1, 1, 100.0]  # h2, Oct 20
    # 低保 (90): h3 not due (Sep 10); h4 never before → due, Oct 5; h5 never before → due, Oct 5 → 2 of 2
    assert rows["低保"] == [90, 3, 2, 2, 100.0]
    assert rows["高龄"] == [30, 1, 1, 0, 0.0]  # h7, derived from the birth date
    # all pairs: (1 + 1 + 2 + 0) / (2 + 1 + 2 + 1) = 4 / 6 = 66.7 %
    assert panel(ctx, "coverage_category").figures == {"覆盖率%": 66.7}


def test_alerts_response_times(w):
    ctx = dashboard.Ctx(w.c, {w.g1.id, w.g2.id, w.g3.id}, OCT)
    rows = {r[0]: r[1:] for r in panel(ctx, "alerts").rows}
    # [count, acknowledged, ack median, ack p90, resolved, resolution median, p90]
    # SOS in October: 5 (the one raised offline on Oct 31 and synced Nov 1 included); acknowledged after
    # 4, 10, 2, 20 → sorted 2, 4, 10, 20: median between 4 and 10 = 7.0; p90 at rank 0.9 × 3 = 2.7:
    # 10 + 0.7 × (20 − 10) = 17.0. Resolved after 60, 30, 100 → median 60; p90 rank 1.8: 60 + 0.8 × 40 = 92.0
    assert rows["居民一键求助"] == [5, 4, 7.0, 17.0, 3, 60.0, 92.0]
    assert rows["网格员上报"] == [1, 1, 6.0, 6.0, 1, 6.0, 6.0]
    # all sources' acknowledgements: 2, 4, 6, 10, 20 → median 6
    assert panel(ctx, "alerts").figures == {"求助条数": 6, "响应中位数（分钟）": 6.0}
    # September: one SOS acknowledged after 30 minutes
    assert panel(ctx.previous(), "alerts").figures == {"求助条数": 1, "响应中位数（分钟）": 30.0}


def test_alert_response_is_timed_from_when_the_server_had_it(w):
    """An SOS pressed with no signal on Oct 25 10:00, synced 12:00, taken 12:05, resolved 12:10: staff
    are timed from 12:00 (the later of raised and received), so it adds 5 and 10 minutes, not 125 and 130."""
    raised = utc(10, 25)
    alert(w.h3, "sos", raised, ack=125, by=w.w1, resolved=130, received=raised + timedelta(hours=2))
    db.session.commit()
    ctx = dashboard.Ctx(w.c, {w.g1.id, w.g2.id, w.g3.id}, OCT)
    rows = {r[0]: r[1:] for r in panel(ctx, "alerts").rows}
    # acknowledged after 2, 4, 5, 10, 20 → median 5.0; p90 rank 0.9 × 4 = 3.6: 10 + 0.6 × 10 = 16.0.
    # resolved after 10, 30, 60, 100 → median 45.0; p90 rank 2.7: 60 + 0.7 × 40 = 88.0
    assert rows["居民一键求助"] == [6, 5, 5.0, 16.0, 4, 45.0, 88.0]
    # all sources: 2, 4, 5, 6, 10, 20 → median 5.5
    assert panel(ctx, "alerts").figures == {"求助条数": 7, "响应中位数（分钟）": 5.5}
    # the district roll-up's response median is timed the same way
    row = next(r for r in dashboard.district_rollup(OCT) if r[0] == w.c.code)
    assert row[-2:] == [7, 5.5]


def test_meals_and_unstaffed_and_silent_grids(w):
    ctx = dashboard.Ctx(w.c, {w.g1.id, w.g2.id, w.g3.id}, OCT)
    rows = {r[0]: r[1:] for r in panel(ctx, "meals").rows}
    assert rows["已送达"] == [4, 0]  # Oct 1, 2, 3 to h1 and Oct 6 to h4 (Sep 30 is September's)
    assert rows["无人应答"] == [2, 1]
    assert panel(ctx, "meals").figures == {"送餐记录": 7, "无人应答（漏餐）": 2, "升级为求助": 1}
    assert panel(ctx, "unstaffed").rows == [[w.g3.code, "第3网格", 1]]
    # today (Nov 5): G1 has a visit, G2 a zero report, G3 nothing
    assert panel(ctx, "silent").rows == [[w.g3.code, "第3网格"]]


def test_leader_sees_only_their_grids(w):
    ctx = dashboard.ctx_for(w.leader, OCT)
    assert ctx.grid_ids == [w.g1.id]
    assert [r[1] for r in panel(ctx, "coverage_grid").rows] == ["第1网格"]
    # SOS on h1 and h2: Oct 3 (4 min), Oct 12 (10 min), Oct 31 (open) → 3; median 7.0; p90 4 + 0.9 × 6 = 9.4
    assert {r[0]: r[1:5] for r in panel(ctx, "alerts").rows} == {"居民一键求助": [3, 2, 7.0, 9.4]}
    assert panel(ctx, "meals").figures == {"送餐记录": 6, "无人应答（漏餐）": 2, "升级为求助": 1}
    assert panel(ctx, "unstaffed").rows == [] and panel(ctx, "silent").rows == []


def test_evaluation_counts_when_the_work_was_done(w):
    ctx = dashboard.ctx_for(w.admin, OCT)
    ev = {e.user.username: e for e in team.evaluate(ctx)}
    a = ev["a_w1"]
    # caseload h1, h2, h3 = 3; due visits 4 (h1) + 1 (h2) + 0 (h3) = 5; done: h1 Oct 2, 9, 16 and Oct 30
    # (synced Nov 3, still October's) = 4, h2 Oct 20 = 1 → 5 → 100 %; per 100 households 5 / 3 × 100 = 166.7.
    # On time: Oct 2 (4 days after Sep 28), Oct 9 (7), Oct 16 (7) yes, Oct 30 (14) no; h2 Oct 20 is 20 days
    # after Sep 30 (made in September, synced Oct 2) → on time: 4 of 5 = 80 %.
    # Alerts acknowledged: 4 and 10 minutes → median 7.0
    assert (a.caseload, a.due_visits, a.done, a.completion, a.per100, a.visits, a.on_time, a.on_time_rate,
            a.alerts, a.ack_median) == (3, 5, 5, 100.0, 166.7, 5, 4, 80.0, 2, 7.0)
    b = ev["a_w2"]
    # caseload h4, h5 = 2 (h6 has no category); due 1 + 4 = 5; done 1 + 2 = 3 → 60 %; 3 / 2 × 100 = 150.0;
    # on time: h4 Oct 5 (first), h5 Oct 5 (first) yes, Oct 22 (17 days) no → 2 / 3 = 66.7 %;
    # acknowledged after 2, 20, 6 → median 6.0
    assert (b.caseload, b.due_visits, b.done, b.completion, b.per100, b.visits, b.on_time, b.on_time_rate,
            b.alerts, b.ack_median) == (2, 5, 3, 60.0, 150.0, 3, 2, 66.7, 3, 6.0)
    # a leader's evaluation: only workers of their grids
    assert [e.user.username for e in team.evaluate(dashboard.ctx_for(w.leader, OCT))] == ["a_w1"]


def _login(app, username):
    c = app.test_client()
    token = csrf_from(c.get("/login").get_data(as_text=True))
    assert c.post("/login", data={"login": username, "password": PW, "csrf_token": token}).status_code == 302
    c.csrf = csrf_from(c.get("/settings").get_data(as_text=True))
    return c


def test_team_view_with_device_counts(app, w):
    c = _login(app, "a_w1")
    r = c.post("/api/sync", json={"records": [], "device": {"pending": 3, "rejected": 1}},
               headers={"X-CSRFToken": c.csrf})
    assert r.status_code == 200 and r.get_json() == {"results": []}
    # counts that are not small non-negative integers are ignored, the batch is still answered
    c2 = _login(app, "a_w2")
    r = c2.post("/api/sync", json={"records": [], "device": {"pending": -1, "rejected": "x"}},
                headers={"X-CSRFToken": c2.csrf})
    assert r.status_code == 200
    rows = {r.user.username: r for r in team.team_today(dashboard.ctx_for(w.leader, OCT))}
    assert set(rows) == {"a_w1"}
    t = rows["a_w1"]
    # open alerts in G1: the SOS raised Oct 31 (never acknowledged) → 1
    assert (t.pending, t.rejected, t.synced_at, t.open_alerts, t.overdue) == (3, 1, NOW, 1, 0)
    admin = {r.user.username: r for r in team.team_today(dashboard.ctx_for(w.admin, OCT))}
    # w2: h5 last visited Oct 22 + 7 days = Oct 29 < Nov 5 → 1 overdue; open: the SOS of Oct 15 (acknowledged)
    assert (admin["a_w2"].overdue, admin["a_w2"].open_alerts, admin["a_w2"].pending) == (1, 1, 0)
    page = _login(app, "a_leader").get("/dashboard/team").get_data(as_text=True)
    assert 'data-worker="a_w1"' in page and 'data-worker="a_w2"' not in page


def test_pages_csv_report_and_scope(app, w):
    admin = _login(app, "a_admin")
    page = admin.get("/dashboard?month=2026-10").get_data(as_text=True)
    assert page.count("<svg") >= 5 and page.count('<table class="data"') == 10  # one per panel in dashboard_panels.PANELS
    assert "第3网格" in page and "石冲" not in page
    csv = admin.get("/dashboard/panels/coverage_grid.csv?month=2026-10").get_data(as_text=True)
    assert "第2网格,2,2,1,50.0,1" in csv
    assert admin.get("/dashboard/panels/nope.csv").status_code == 404
    leader = _login(app, "a_leader")
    page = leader.get("/dashboard?month=2026-10").get_data(as_text=True)
    assert "第1网格" in page and "第2网格" not in page and "第3网格" not in page
    assert leader.get(f"/dashboard/grids/{w.g2.id}/report").status_code == 404
    assert leader.get(f"/dashboard/grids/{w.g1.id}/report?month=2026-10").status_code == 200
    x = admin.get("/dashboard/report.xlsx?month=2026-10")
    assert x.status_code == 200 and x.data[:2] == b"PK"
    from io import BytesIO
    from openpyxl import load_workbook
    cells = [c for row in load_workbook(BytesIO(x.data)).active.iter_rows(values_only=True) for c in row if c]
    assert "a_w2" in cells and "第3网格" in cells
    b = _login(app, "b_admin")
    assert b.get(f"/dashboard/grids/{w.g1.id}/report").status_code == 404
    assert "第1网格" in b.get("/dashboard?month=2026-10").get_data(as_text=True)
    assert _login(app, "a_w1").get("/dashboard").status_code == 404


def test_zero_report_once_per_grid_and_day(app, w):
    c = _login(app, "a_w1")
    rec = lambda u, grid, day="2026-11-05": {"uuid": u, "kind": "zero_report",  # noqa: E731
                                             "recorded_at": "2026-11-05T03:00:00Z",
                                             "payload": {"grid_id": grid, "day": day, "note": ""}}
    u1, u2 = str(uuid.uuid4()), str(uuid.uuid4())
    answers = c.post("/api/sync", json={"records": [rec(u1, w.g1.id), rec(u1, w.g1.id)]},
                     headers={"X-CSRFToken": c.csrf}).get_json()["results"]
    assert answers[0]["status"] == "stored" and answers[1]["status"] == "rejected"  # a repeat in one batch
    again = c.post("/api/sync", json={"records": [rec(u1, w.g1.id), rec(u2, w.g1.id), rec(str(uuid.uuid4()), w.g2.id),
                                                  rec(str(uuid.uuid4()), w.g1.id, "2026-11-06")]},
                   headers={"X-CSRFToken": c.csrf}).get_json()["results"]
    assert [a["status"] for a in again] == ["stored", "rejected", "rejected", "rejected"]
    assert [a.get("code") for a in again[1:]] == ["conflict", "out_of_scope", "invalid"]
    assert db.session.query(ZeroReport).filter_by(grid_id=w.g1.id).count() == 1
    # the plain form, for a phone without the outbox: the page says it is done
    page = c.get("/zero").get_data(as_text=True)
    assert "今天已零上报" in page
    assert _login(app, "a_admin").get("/zero").status_code == 404


def test_district_rollup_and_its_command(app, w):
    rows = {r[0]: r[2:] for r in dashboard.district_rollup(OCT)}
    # [care households, due, covered, %, overdue, alerts, ack median] — 翠城 as the panels above:
    # 6 households (h6 has no category), 5 due, 3 covered = 60 %, 2 overdue (h5, h7); 6 alerts, median 6
    assert rows["110101001001"] == [6, 5, 3, 60.0, 2, 6, 6.0]
    # 石冲: one 独居 household visited Oct 1, 8, 15, 22, 29: 5 ≥ 4 due → covered; last Oct 29 → not overdue;
    # one SOS acknowledged after 1 minute
    assert rows["110101001002"] == [1, 1, 1, 100.0, 0, 1, 1.0]
    out = app.test_cli_runner().invoke(args=["district-rollup", "--month", "2026-10"])
    assert out.exit_code == 0, out.output
    assert "110101001002,石冲社区,1,1,1,100.0,0,1,1.0" in out.output


def test_zero_report_by_plain_form_and_odd_input(app, w):
    c = _login(app, "a_w2")
    form = {"csrf_token": c.csrf, "uuid": str(uuid.uuid4()), "grid_id": str(w.g2.id), "day": "2026-11-04", "note": "无"}
    r = c.post("/zero", data=form)
    assert r.status_code == 302
    assert db.session.scalar(select(ZeroReport.note).where(ZeroReport.grid_id == w.g2.id,
                                                           ZeroReport.day == date(2026, 11, 4))) == "无"
    # the same grid and day again from another form: refused with the reason, nothing added
    page = c.post("/zero", data=dict(form, uuid=str(uuid.uuid4())), follow_redirects=True).get_data(as_text=True)
    assert "当天已经零上报过了" in page
    assert db.session.query(ZeroReport).filter_by(grid_id=w.g2.id).count() == 2  # Nov 4 and the fixture's Nov 5
    for bad in ({"grid_id": str(w.g1.id)}, {"day": "2026-02-30"}, {"day": "2026-10-01"}, {"grid_id": "1e9"},
                {"note": "x\x00y"}, {"note": "长" * 201}):
        page = c.post("/zero", data=dict(form, uuid=str(uuid.uuid4()), **bad), follow_redirects=True)
        assert page.status_code == 200 and "class=\"error" in page.get_data(as_text=True), bad
    assert db.session.query(ZeroReport).count() == 2
    admin = _login(app, "a_admin")
    for month in ("2026-13", "x" * 300, "0001-01", ""):
        assert admin.get("/dashboard", query_string={"month": month}).status_code == 200
