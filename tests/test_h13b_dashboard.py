"""The check-in, requests and away-worker panels and the evaluation's request figures, against
figures worked out by hand. Built on the fixture of test_h13_dashboard (翠城, UTC+8, October 2026
judged, the clock at 2026-11-05 12:00 local; G1 = w1 with h1-h3, G2 = w2 with h4-h6, G3 no worker).

Check-ins (local times; h1's visits of the base fixture are at 10:00 on Oct 2, 9, 10 (a correction),
16 and 30, h5's at 10:00 on Oct 5 and 22):
  h1 (G1): enrolled Sep 1, deadline 11:00; paused Oct 11-20 (hospital).
      Oct 1 check-in 09:50 synced 11:40 (late sync, on time); Oct 3 10:59; Oct 4 11:30 (after the deadline);
      Oct 15 (paused day); Oct 21-29 at 08:00.
  h5 (G2): enrolled Oct 20 at 12:00 (after that day's 10:00 deadline), deadline 10:00;
      Oct 19 check-in (before enrolment); Oct 25 09:00 synced Nov 2.
  h4 (G2): enrolled, then stopped: not counted.  Missed-check-in alerts: h5 Oct 23 and Oct 31; h5 Sep 30.
  The other community: an enrolled elder with a missed-check-in alert in October.

Requests (due = the stored time limit; "handled" = 处置 events):
  r1 G1 物业维修 Oct 3, due Oct 6 18:00, w1 handled Oct 5, rated 5, closed
  r2 G1 物业维修 Oct 8, due Oct 9 10:00, w1 handled Oct 10 (late), 核查退回 Oct 10 11:00, due re-armed to
     Oct 14 18:00, w1 handled Oct 13, rated 4
  r3 G1 环境卫生 Oct 20, due Oct 22 12:00, w1 handled Oct 23 (late), rated 2 → 回退 Oct 24, re-armed due
     Oct 28 18:00, w1 handled again Nov 2 (late; November's work)
  r4 G2 物业维修 Oct 25, from the app, not accepted, respond_by Oct 26 10:00: open and overdue
  r5 G2 物业维修 Oct 28, due Oct 30 18:00, w2 handled Oct 29, rated 3
  r6 G2 环境卫生 Oct 31 23:30 synced Nov 1, due Nov 10: open, not yet due
  r7 G1 物业维修 Oct 4, merged into r1
  r8 G1 物业维修 Sep 29, due Oct 2 18:00, w1 handled Oct 1 (September's request, October's work)
  r9 G2 环境卫生 Oct 10, due Oct 12 18:00, w2 handled Oct 15 (late), closed without a rating
  The other community: a request in October, handled late by its worker.

Away: w2 on leave Nov 4-6 (today Nov 5); the other community's worker away too.
"""
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import (Absence, Alert, Building, CheckinEnrolment, CheckinPause, Checkin, Grid, Household,
                           User)
from webapp.models.requests import Request, RequestCategory, RequestEvent
from webapp.services import dashboard, requests as requests_svc, team

from .test_h13_dashboard import OCT, _login, panel, utc, w  # noqa: F401  (w is the base fixture)

NOV = date(2026, 11, 1)


def checkin(h, author, when, received=None):
    db.session.add(Checkin(uuid=str(uuid.uuid4()), household_id=h.id, author_id=author.id, mode="phone",
                           recorded_at=when, received_at=received or when + timedelta(minutes=1)))


def missed_alert(h, raised):
    db.session.add(Alert(uuid=str(uuid.uuid4()), household_id=h.id, source="checkin", recorded_at=raised,
                         received_at=raised, state="open"))


def category(community, name):
    return db.session.scalar(select(RequestCategory).where(RequestCategory.community_id == community.id,
                                                           RequestCategory.name == name))


def req(community, grid, cat, made, due, state, events=(), rating=None, received=None, author=None, **kw):
    r = Request(uuid=str(uuid.uuid4()), community_id=community.id, grid_id=grid.id, channel=kw.pop("channel", "worker"),
                category_id=cat.id, text="诉求", state=state, due_at=due, respond_by=kw.pop("respond_by", made),
                rating=rating, recorded_at=made, received_at=received or made, author_id=author.id, **kw)
    db.session.add(r)
    db.session.flush()
    for kind, user, at in events:
        db.session.add(RequestEvent(request_id=r.id, kind=kind, user_id=user.id if user else None, at=at, detail={}))
    db.session.flush()
    return r


def _grid_of(community):
    return db.session.scalar(select(Grid).where(Grid.community_id == community.id))


@pytest.fixture
def x(w):
    c = w.c
    # ---- check-ins
    e1 = CheckinEnrolment(household_id=w.h1.id, deadline_minutes=11 * 60, enrolled_at=utc(9, 1), active=True)
    e5 = CheckinEnrolment(household_id=w.h5.id, deadline_minutes=10 * 60, enrolled_at=utc(10, 20, 12), active=True)
    e4 = CheckinEnrolment(household_id=w.h4.id, deadline_minutes=10 * 60, enrolled_at=utc(9, 1), active=False)
    db.session.add_all([e1, e5, e4])
    db.session.add(CheckinPause(household_id=w.h1.id, reason="hospital", starts_on=date(2026, 10, 11),
                                ends_on=date(2026, 10, 20)))
    checkin(w.h1, w.w1, utc(10, 1, 9, 50), received=utc(10, 1, 11, 40))
    checkin(w.h1, w.w1, utc(10, 3, 10, 59))
    checkin(w.h1, w.w1, utc(10, 4, 11, 30))
    checkin(w.h1, w.w1, utc(10, 15, 8))
    for day in range(21, 30):
        checkin(w.h1, w.w1, utc(10, day, 8))
    checkin(w.h5, w.w2, utc(10, 19, 9))
    checkin(w.h5, w.w2, utc(10, 25, 9), received=utc(11, 2))
    checkin(w.h4, w.w2, utc(10, 6, 9))
    missed_alert(w.h5, utc(10, 23, 10, 30))
    missed_alert(w.h5, utc(10, 31, 10, 30))
    missed_alert(w.h5, utc(9, 30, 10, 30))
    # ---- requests
    requests_svc.ensure_categories(c)
    repair, clean = category(c, "物业维修"), category(c, "环境卫生")
    leader, w1, w2 = w.leader, w.w1, w.w2
    r1 = req(c, w.g1, repair, utc(10, 3), utc(10, 6, 18), "closed", [("handled", w1, utc(10, 5))], rating=5,
             author=w1)
    req(c, w.g1, repair, utc(10, 8), utc(10, 14, 18), "verified",
        [("handled", w1, utc(10, 10)), ("returned", leader, utc(10, 10, 11)), ("handled", w1, utc(10, 13))],
        rating=4, author=w1)
    req(c, w.g1, clean, utc(10, 20), utc(10, 28, 18), "handled",
        [("handled", w1, utc(10, 23)), ("rated", None, utc(10, 24)), ("reopened", None, utc(10, 24)),
         ("handled", w1, utc(11, 2))], rating=2, author=w1)
    req(c, w.g2, repair, utc(10, 25), None, "new", channel="app", respond_by=utc(10, 26, 10), author=w2)
    req(c, w.g2, repair, utc(10, 28), utc(10, 30, 18), "closed", [("handled", w2, utc(10, 29))], rating=3,
        author=w2)
    req(c, w.g2, clean, utc(10, 31, 23, 30), utc(11, 10, 18), "dispatched", received=utc(11, 1, 9), author=w2)
    req(c, w.g1, repair, utc(10, 4), None, "merged", merged_into_id=r1.id, author=w1)
    req(c, w.g1, repair, utc(9, 29), utc(10, 2, 18), "closed", [("handled", w1, utc(10, 1))], author=w1)
    req(c, w.g2, clean, utc(10, 10), utc(10, 12, 18), "closed", [("handled", w2, utc(10, 15))], author=w2)
    # ---- the other community: its elder, alert and request never count here
    c2 = w.b_admin.community
    o1 = _grid_of(c2)
    ow = db.session.scalar(select(User).where(User.username == "b_w1"))
    oh = db.session.scalar(select(Household).join(Building).where(Building.grid_id == o1.id))
    db.session.add(CheckinEnrolment(household_id=oh.id, deadline_minutes=600, enrolled_at=utc(9, 1), active=True))
    missed_alert(oh, utc(10, 5, 10, 30))
    requests_svc.ensure_categories(c2)
    req(c2, o1, category(c2, "物业维修"), utc(10, 3), utc(10, 4), "closed", [("handled", ow, utc(10, 9))], rating=1,
        author=ow)
    # ---- away today
    for user in (w.w2, ow):
        db.session.add(Absence(user_id=user.id, kind="leave", start_date=date(2026, 11, 4), end_date=date(2026, 11, 6),
                               created_by=w.admin.id))
    db.session.commit()
    return w


def test_checkin_compliance_by_grid(x):
    ctx = dashboard.Ctx(x.c, {x.g1.id, x.g2.id, x.g3.id}, OCT)
    p = panel(ctx, "checkins")
    rows = {r[1]: r[2:] for r in p.rows}
    # [elders, days due, on time, missed, on-time %, alerts]
    # h1: 31 days - 10 paused (Oct 11-20) = 21 due. On time (before 11:00): Oct 1 (09:50, synced 11:40), Oct 2
    #     (visit 10:00), Oct 3 (10:59), Oct 9 (visit), Oct 21-29 (9), Oct 30 (visit, synced Nov 3) = 14.
    #     Oct 4 checked in at 11:30: late, not missed. Missed: Oct 5, 6, 7, 8, 10, 31 = 6. 14 / 21 = 66.7 %
    assert rows["第1网格"] == [1, 21, 14, 6, 66.7, 0]
    # h5: enrolled Oct 20 12:00, after that day's 10:00 deadline → due Oct 21-31 = 11 days. On time: Oct 25
    #     (09:00, synced Nov 2) = 1. Oct 22's visit at 10:00 is not before 10:00: late, not missed.
    #     Missed 11 - 1 - 1 = 9 → 1 / 11 = 9.1 %. h4 stopped: not counted. Alerts Oct 23, Oct 31 (Sep 30 is September's)
    assert rows["第2网格"] == [1, 11, 1, 9, 9.1, 2]
    assert "第3网格" not in rows
    # (14 + 1) / (21 + 11) = 15 / 32 = 46.875 → 46.9; missed 6 + 9 = 15
    assert p.figures == {"按时率%": 46.9, "漏打卡天数": 15, "未打卡提醒": 2}
    # September: h1 alone (h5 enrolled in October), 30 days, only Sep 28's visit at 10:00 → 1 on time, 29 missed
    assert panel(ctx.previous(), "checkins").figures == {"按时率%": 3.3, "漏打卡天数": 29, "未打卡提醒": 1}


def test_checkin_days_run_to_yesterday_and_leader_scope(x):
    # November, today Nov 5: Nov 1-4 are due (today is not over). h1: the Nov 5 visit is today's → 4 missed;
    # h5 likewise 4 missed
    ctx = dashboard.Ctx(x.c, {x.g1.id, x.g2.id, x.g3.id}, NOV)
    rows = {r[1]: r[2:] for r in panel(ctx, "checkins").rows}
    assert rows["第1网格"] == [1, 4, 0, 4, 0.0, 0] and rows["第2网格"] == [1, 4, 0, 4, 0.0, 0]
    leader = dashboard.ctx_for(x.leader, OCT)
    assert [r[1] for r in panel(leader, "checkins").rows] == ["第1网格"]


def test_requests_by_category(x):
    ctx = dashboard.Ctx(x.c, {x.g1.id, x.g2.id, x.g3.id}, OCT)
    p = panel(ctx, "requests")
    rows = {r[0]: r[1:] for r in p.rows}
    # [requests, handled, on time, overdue open, on-time %, satisfaction, sent back]
    # 物业维修: r1, r2, r4, r5 (r7 merged, r8 September's) = 4; handled r1 (Oct 5 ≤ Oct 6), r2 (Oct 13 ≤ the re-armed
    #   Oct 14; the late first handling was sent back), r5 (Oct 29 ≤ Oct 30) = 3 on time; r4 open past Oct 26 = 1 →
    #   3 / (3 + 1) = 75 %; ratings 5, 4, 3 → 4.0; sent back: r2
    assert rows["物业维修"] == [4, 3, 3, 1, 75.0, 4.0, 1]
    # 环境卫生: r3, r6 (made Oct 31 23:30, synced Nov 1), r9 = 3; handled r3 (Nov 2 > Oct 28) and r9 (Oct 15 > Oct 12),
    #   none on time; r6 not yet due → 0 / 2 = 0 %; rating r3 2 → 2.0; sent back: r3 (回退)
    assert rows["环境卫生"] == [3, 2, 0, 0, 0.0, 2.0, 1]
    assert rows["安全隐患"] == [0, 0, 0, 0, None, None, 0]
    # 7 requests; on time 3 / (5 handled + 1 overdue) = 50 %; ratings 5, 4, 3, 2 → 3.5; 2 sent back
    assert p.figures == {"诉求件数": 7, "按时率%": 50.0, "平均满意度（1-5）": 3.5, "回退件数": 2}
    # a leader: G1 only → r1, r2 (物业维修) and r3 (环境卫生)
    rows = {r[0]: r[1:] for r in panel(dashboard.ctx_for(x.leader, OCT), "requests").rows}
    assert rows["物业维修"] == [2, 2, 2, 0, 100.0, 4.5, 1] and rows["环境卫生"] == [1, 1, 0, 0, 0.0, 2.0, 1]
    # the other community sees its own request only (handled Oct 9 against Oct 4: late; rated 1)
    other = {r[0]: r[1:] for r in panel(dashboard.ctx_for(x.b_admin, OCT), "requests").rows}
    assert other["物业维修"] == [1, 1, 0, 0, 0.0, 1.0, 0] and other["环境卫生"][0] == 0


def test_away_workers_panel(x):
    ctx = dashboard.Ctx(x.c, {x.g1.id, x.g2.id, x.g3.id}, OCT)
    # w2 is on leave Nov 4-6: G2 (h4, h5, h6) has nobody today; G3 has no worker at all (the other panel's)
    assert panel(ctx, "away").rows == [[x.g2.code, "第2网格", "a_w2", 3]]
    assert panel(ctx, "away").figures == {"网格数": 1}
    assert panel(dashboard.ctx_for(x.leader, OCT), "away").rows == []
    # the other community's away worker shows on its own dashboard only
    assert [r[1] for r in panel(dashboard.ctx_for(x.b_admin, OCT), "away").rows] == ["第1网格"]


def test_evaluation_requests_by_when_handled(x):
    ev = {e.user.username: e for e in team.evaluate(dashboard.ctx_for(x.admin, OCT))}
    # w1 in October: r8 (Oct 1 ≤ Oct 2), r1 (Oct 5 ≤ Oct 6), r2 (Oct 13 ≤ Oct 14) = 3 of 3; r3's handling of
    # Oct 23 was sent back and its handling that stood is November's. Ratings: r1 5, r2 4 (r8 none) → 4.5
    a = ev["a_w1"]
    assert (a.req_handled, a.req_on_time, a.req_on_time_rate, a.req_rating) == (3, 3, 100.0, 4.5)
    # w2: r5 (Oct 29 ≤ Oct 30) on time, r9 (Oct 15 > Oct 12) late → 1 / 2 = 50 %; rated: r5 3 → 3.0
    b = ev["a_w2"]
    assert (b.req_handled, b.req_on_time, b.req_on_time_rate, b.req_rating) == (2, 1, 50.0, 3.0)
    nov = {e.user.username: e for e in team.evaluate(dashboard.ctx_for(x.admin, NOV))}
    # r3 handled Nov 2 against Oct 28: late; rated 2
    assert (nov["a_w1"].req_handled, nov["a_w1"].req_on_time, nov["a_w1"].req_on_time_rate,
            nov["a_w1"].req_rating) == (1, 0, 0.0, 2.0)
    assert (nov["a_w2"].req_handled, nov["a_w2"].req_on_time_rate, nov["a_w2"].req_rating) == (0, None, None)


def test_team_view_counts_open_requests_per_worker(app, x):
    """Open requests (新 / 已受理 / 处理中 / 待议事: the time limit still runs) in each worker's grids, now."""
    c = x.c
    req(c, x.g1, category(c, "环境卫生"), utc(11, 4), utc(11, 6, 18), "accepted", author=x.w1)
    req(c, x.g1, category(c, "环境卫生"), utc(11, 4), utc(11, 6, 18), "meeting", author=x.w1)
    db.session.commit()
    rows = {r.user.username: r for r in team.team_today(dashboard.ctx_for(x.admin, OCT))}
    # G1: r1 closed, r2 verified, r3 handled (waiting for the leader), r7 merged, r8 closed: none open;
    # plus the two above (accepted, meeting) → 2. G2: r4 new, r6 dispatched → 2 (r5, r9 closed).
    # The other community's request never counts.
    assert (rows["a_w1"].open_requests, rows["a_w2"].open_requests) == (2, 2)
    # open alerts in G2: the SOS of Oct 15 (acknowledged) and h5's three missed check-ins → 4
    assert (rows["a_w1"].open_alerts, rows["a_w2"].open_alerts) == (1, 4)
    assert {r.user.username for r in team.team_today(dashboard.ctx_for(x.leader, OCT))} == {"a_w1"}
    page = _login(app, "a_admin").get("/dashboard/team").get_data(as_text=True)
    assert "未办结诉求" in page
    row = page[page.index('data-worker="a_w2"'):]
    row = row[:row.index("</tr>")]
    assert "<td>4</td><td>2</td>" in row, row


def test_pages_show_the_new_panels_in_scope(app, x):
    admin = _login(app, "a_admin")
    page = admin.get("/dashboard?month=2026-10").get_data(as_text=True)
    for name in ("checkins", "requests", "away"):
        assert f'data-panel="{name}"' in page
    assert page.count('<table class="data"') == 10
    csv = admin.get("/dashboard/panels/checkins.csv?month=2026-10").get_data(as_text=True)
    assert "第2网格,1,11,1,9,9.1,2" in csv
    csv = admin.get("/dashboard/panels/requests.csv?month=2026-10").get_data(as_text=True)
    assert "物业维修,4,3,3,1,75.0,4.0,1" in csv
    assert "第2网格,a_w2,3" in admin.get("/dashboard/panels/away.csv").get_data(as_text=True)
    ev = admin.get("/dashboard/evaluation?month=2026-10").get_data(as_text=True)
    assert "<td>3/3</td><td>100.0</td><td>4.5</td>" in ev and "<td>1/2</td><td>50.0</td><td>3.0</td>" in ev
    assert "诉求按时率＝按时件数÷处置件数×100" in ev
    leader = _login(app, "a_leader")
    page = leader.get("/dashboard?month=2026-10").get_data(as_text=True)
    assert "第2网格" not in page and "a_w2" not in page
    b = _login(app, "b_admin")
    csv = b.get("/dashboard/panels/requests.csv?month=2026-10").get_data(as_text=True)
    assert "物业维修,1,1,0,0,0.0,1.0,0" in csv
    assert "第2网格" not in b.get("/dashboard/panels/checkins.csv?month=2026-10").get_data(as_text=True)
