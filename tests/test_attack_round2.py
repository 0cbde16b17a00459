"""Attack, round 2: the features of issues 10, 12 and 13 as an attacker and a new user would use
them. Each test here failed on the code it was written against; its docstring names the fault and
what a person would see."""
import base64
import io
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, text, update

from webapp import clock, localtime
from webapp.extensions import db
from webapp.models import Absence, Alert, Household, Notice, Request, Visit
from webapp.services import checkins, requests as svc, scope
from .test_requests import cat, submit  # the same request helpers

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500


def b64(data, mime="image/jpeg"):
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def post(client, url, **form):
    return client.post(url, data=dict(form, csrf_token=client.csrf))


def fresh(req_id):
    db.session.expire_all()
    return db.session.get(Request, req_id)


def notice_titles(user_id):
    return db.session.scalars(select(Notice.title).where(Notice.user_id == user_id,
                                                         Notice.subject_type == "request")).all()


def a_dispatched_request(world, as_user):
    c = cat(world)
    assert submit(world.users["resident1"], {"category_id": c.id, "text": "楼道灯坏了"})["status"] == "stored"
    req = db.session.scalar(select(Request))
    w = as_user("worker1")
    assert post(w, f"/requests/{req.id}/dispatch", version=req.version,
                assignee_id=world.users["worker1"].id).status_code == 302
    return req.id, w


# ---- control characters in the steps of a request -------------------------------------------------

def test_a_nul_in_a_handling_note_is_refused_not_a_server_error(app, world, as_user):
    """Fault: the loop's step forms (handle note, dispatch's outside party, verify/close notes, the
    rating's comment, the meeting's participants and resolution) go straight to the database,
    not through records.screen. A NUL pasted into the note (copied from a broken PDF or an IME)
    gives a 500 on PostgreSQL ("text fields cannot contain NUL") and the worker loses what they
    typed; on SQLite the NUL is stored and shown to the resident."""
    rid, w = a_dispatched_request(world, as_user)
    res = post(w, f"/requests/{rid}/handle", version=fresh(rid).version, note="已修好\x00")
    assert res.status_code == 400
    assert fresh(rid).state == "dispatched"


def test_a_nul_in_a_rating_comment_is_refused_not_a_server_error(app, world, as_user):
    """Fault: the resident's rating comment is not screened either: 500 on PostgreSQL when the
    elder's keyboard inserts a control character, and the case stays unrated with no reason given."""
    rid, w = a_dispatched_request(world, as_user)
    assert post(w, f"/requests/{rid}/handle", version=fresh(rid).version, note="已修好").status_code == 302
    assert post(as_user("leader1"), f"/requests/{rid}/verify", version=fresh(rid).version).status_code == 302
    res = post(as_user("resident1"), f"/requests/{rid}/rate", rating="5", comment="很好\x00\x07")
    assert res.status_code == 400
    assert fresh(rid).state == "verified" and fresh(rid).rating is None


# ---- check-in: the day a check-in counts for -------------------------------------------------------

def test_a_checkin_stamped_tomorrow_does_not_silence_tomorrows_sweep(app, world, as_user):
    """Fault: a check-in counts for every day from its recorded_at on (`recorded_at >= day_start`,
    no upper bound), and recorded_at may be up to a day ahead of the server. A cheap phone whose
    clock runs a day fast (common after a battery change) sends today's 我很好 stamped tomorrow:
    tomorrow the elder does not press, and the sweep sends no reminder and raises no alert: the
    safety net is silently off for that day."""
    household_id = scope.own_household_id(world.users["resident1"])
    day = datetime(2026, 11, 22)
    to_utc = lambda d, h, m=0: d.replace(hour=h, minute=m) - timedelta(hours=8)  # Asia/Shanghai
    clock.freeze(to_utc(day, 7))
    db.session.query(Visit).delete()
    checkins.enrol(world.users["worker1"], db.session.get(Household, household_id), "10:00")
    db.session.commit()
    # today 08:00 the elder presses; the phone's clock says tomorrow 07:30
    clock.freeze(to_utc(day, 8))
    stamped = to_utc(day + timedelta(days=1), 7, 30)
    r = as_user("resident1")
    res = r.post("/api/sync", headers={"X-CSRFToken": r.csrf}, json={"records": [{
        "uuid": str(uuid.uuid4()), "kind": "checkin", "recorded_at": stamped.isoformat() + "Z",
        "payload": {"household_id": household_id, "mode": "self"}}]})
    assert res.get_json()["results"][0]["status"] == "stored"
    # tomorrow: no press at all; past the deadline and the grace period
    clock.freeze(to_utc(day + timedelta(days=1), 10, 45))
    reminded, alerted = checkins.sweep()
    assert (reminded, alerted) == (1, 1), "tomorrow's missed check-in was not noticed"
    assert db.session.scalar(select(Alert.id).where(Alert.household_id == household_id,
                                                    Alert.source == "checkin")) is not None


# ---- merging: two leaders at once ----------------------------------------------------------------

def test_two_crossed_merges_at_once_do_not_leave_a_case_merged_into_itself(app, world, as_user, monkeypatch):
    """Fault: merge() checks the target case's state on the row it loaded and compare-and-sets only
    the requests merged into it, never the case itself. Two leaders who see the same pair of
    duplicates and merge them crosswise at the same moment (leader A merges #2 into #1 while
    admin B merges #1 into #2) both succeed: #1 → #2 and #2 → #1. Both are "已合并", the ladder
    stops for both, nobody can act on either, and both residents wait for ever."""
    c = cat(world)
    submit(world.users["resident1"], {"category_id": c.id, "text": "3栋电梯坏了"})
    worker = world.users["worker1"]
    submit(worker, {"category_id": c.id, "text": "电梯不动了", "household_id": world.grid1[1].id})
    first, second = db.session.scalars(select(Request).order_by(Request.id)).all()
    first_id, second_id = first.id, second.id
    lead = as_user("leader1")
    original = svc.merge

    def crossed(user, case_req, others):
        # the colleague's merge of #first into #second commits between this request's load and its merge
        with db.engine.begin() as other_transaction:
            other_transaction.execute(update(Request).where(Request.id == case_req.id).values(
                state="merged", merged_into_id=others[0].id, version=Request.version + 1, next_escalation_at=None))
        return original(user, case_req, others)

    monkeypatch.setattr(svc, "merge", crossed)
    post(lead, f"/requests/{first_id}/merge", others=second_id)
    a, b = fresh(first_id), fresh(second_id)
    assert not (a.merged_into_id == b.id and b.merged_into_id == a.id), "each request is merged into the other"
    assert {a.state, b.state} != {"merged"}, "no live case is left for the two residents"


# ---- a worker away today -------------------------------------------------------------------------

def test_a_new_request_reaches_someone_at_work_when_the_grids_workers_are_away(app, world, as_user):
    """Fault: issue 10 leaves people away (请假/病假) out of alerts, but a resident's new request
    notifies grid_staff(req, "worker") whoever is away, and the leader only when the grid has no
    worker at all. With the grid's worker on sick leave, "新诉求待受理" goes to her alone; the
    request sits unseen until the ladder reaches the leader at the end of the response time."""
    c = cat(world)
    resident = world.users["resident1"]
    household = db.session.get(Household, scope.own_household_id(resident))
    today = localtime.today(world.community)
    probe = Request(grid_id=household.building.grid_id)
    workers = svc.grid_staff(probe, "worker")
    assert workers, "the resident's grid has a worker"
    for uid in workers:
        db.session.add(Absence(user_id=uid, kind="sick", start_date=today, end_date=today,
                               created_by=world.users["admin"].id))
    db.session.commit()
    assert submit(resident, {"category_id": c.id, "text": "楼道里有煤气味"})["status"] == "stored"
    told = {uid for uid in [world.users["leader1"].id, world.users["admin"].id] + workers
            if "新诉求待受理" in notice_titles(uid)}
    assert told - set(workers), "only the workers on sick leave were told of the new request"


# ---- the dashboard ---------------------------------------------------------------------------------

from .test_h13_dashboard import OCT, alert as dash_alert, panel, utc, w  # noqa: E402,F401  (the hand-made fixture)


def test_the_dashboard_lists_a_grid_whose_only_worker_is_away(w):
    """Fault: issue 13 asks the dashboard for "grids with no worker, or whose only worker is away";
    the 没有网格员的网格 panel counts assignments only. With G2's only worker on sick leave today,
    the admin's dashboard shows nothing for G2 (the admin home's coverage warning does)."""
    from webapp.services import dashboard
    today = localtime.today(w.c)
    db.session.add(Absence(user_id=w.w2.id, kind="sick", start_date=today, end_date=today, created_by=w.admin.id))
    db.session.commit()
    ctx = dashboard.Ctx(w.c, {w.g1.id, w.g2.id, w.g3.id}, OCT)
    # since the attack the away workers got their own panel (coverage.dashboard_panel, "away",
    # 今天网格员均不在岗的网格) beside 没有网格员的网格: the promise is that G2 is listed on the dashboard
    assert w.g2.code in [r[0] for r in panel(ctx, "away").rows], panel(ctx, "away").rows
    assert [r[:3] for r in panel(ctx, "away").rows] == [[w.g2.code, "第2网格", "a_w2"]]


def test_a_residents_sos_does_not_count_as_the_grids_report_for_the_day(w):
    """Fault: the 今天既无记录也无零上报 panel treats any alert with an author as the grid's record
    for the day (its docstring says "alert raised by staff"); an SOS pressed by a resident has the
    resident as author. G3 (no worker, nobody reported) drops off the silent list the moment an
    elder there presses SOS: the grid most in need of attention looks reported."""
    from webapp.services import accounts, dashboard
    elder = accounts.create_user(w.c, "g3_elder", "住户301", "resident", "linli-demo-password",
                                 resident=w.h7.current_residencies[0].resident)
    dash_alert(w.h7, "sos", utc(11, 5, 11), author=elder)
    db.session.commit()
    ctx = dashboard.Ctx(w.c, {w.g1.id, w.g2.id, w.g3.id}, OCT)
    assert panel(ctx, "silent").rows == [[w.g3.code, "第3网格"]]


# ---- SOS: pressing again -----------------------------------------------------------------------------

def test_an_sos_press_the_day_after_an_acknowledged_alert_tells_someone(app, world, as_user):
    """Fault: presses while the household's SOS alert is "open or acknowledged" are attached to it,
    and attaching notifies nobody (only the ladder notifies, and the ladder stops at the
    acknowledgement). worker1 acknowledged yesterday's SOS and forgot to close it; today the
    elder presses SOS again: the press is filed as 第2次 on yesterday's alert, no notice, no push,
    nobody comes. The resident's screen still says "王… 已响应，正在联系您"."""
    from webapp.services import alerts
    t0 = datetime(2026, 11, 22, 2, 0)
    clock.freeze(t0)
    r = as_user("resident1")
    hid = scope.own_household_id(world.users["resident1"])

    def press():
        return r.post("/api/sync", headers={"X-CSRFToken": r.csrf}, json={"records": [{
            "uuid": str(uuid.uuid4()), "kind": "sos", "recorded_at": clock.utcnow().isoformat() + "Z",
            "payload": {"household_id": hid}}]}).get_json()["results"][0]["status"]

    assert press() == "stored"
    alert = db.session.scalar(select(Alert))
    alerts.acknowledge(alert, world.users["worker1"])
    db.session.commit()
    before = len(db.session.scalars(select(Notice.id).where(Notice.subject_type == "alert")).all())
    clock.freeze(t0 + timedelta(days=1))
    assert press() == "stored"
    db.session.expire_all()
    after = len(db.session.scalars(select(Notice.id).where(Notice.subject_type == "alert")).all())
    assert after > before, "the next day's SOS press told nobody"


# ---- categories: numbers that are not hours ---------------------------------------------------------

def test_a_time_limit_of_1e308_hours_is_refused_not_a_server_error(app, world, as_user):
    """Fault: save_category rounds float(hours) * 60 and catches ValueError only: "1e308" or "inf"
    overflows to infinity and round() raises OverflowError: the admin gets a 500 page instead of
    "时限不合理", and loses the category they were typing."""
    a = as_user("admin")
    for hours in ("1e308", "inf"):
        res = post(a, "/requests/settings", name="加装电梯", response_hours=hours, limit_hours="8")
        assert res.status_code == 400 and "时限" in res.get_data(as_text=True), hours


# ---- a check-in after its alert -----------------------------------------------------------------------

def test_a_late_checkin_does_not_make_the_elder_the_responder_of_the_alert(app, world, as_user):
    """Fault: a check-in that arrives after its missed-check-in alert closes it through
    alerts.resolve(alert, elder), which stamps the elder as the one who acknowledged it. Nobody
    from the community responded, yet the alert page says the elder 接手, and the dashboard's
    alerts panel counts it as 已响应 with the elder's delay as the community's response time."""
    from webapp.services import dashboard
    resident = world.users["resident1"]
    household_id = scope.own_household_id(resident)
    day = datetime(2026, 11, 22)
    to_utc = lambda d, h, m=0: d.replace(hour=h, minute=m) - timedelta(hours=8)  # noqa: E731  Asia/Shanghai
    clock.freeze(to_utc(day, 7))
    db.session.query(Visit).delete()
    checkins.enrol(world.users["worker1"], db.session.get(Household, household_id), "10:00")
    db.session.commit()
    clock.freeze(to_utc(day, 10, 45))
    assert checkins.sweep() == (1, 1)
    alert = db.session.scalar(select(Alert).where(Alert.source == "checkin"))
    clock.freeze(to_utc(day, 11, 0))
    r = as_user("resident1")
    res = r.post("/api/sync", headers={"X-CSRFToken": r.csrf}, json={"records": [{
        "uuid": str(uuid.uuid4()), "kind": "checkin", "recorded_at": clock.utcnow().isoformat() + "Z",
        "payload": {"household_id": household_id, "mode": "self"}}]})
    assert res.get_json()["results"][0]["status"] == "stored"
    db.session.expire_all()
    alert = db.session.get(Alert, alert.id)
    assert alert.state == "resolved"  # the elder is fine: closed, as issue 10 asks
    assert alert.acknowledged_by != resident.id, "the elder is recorded as the one who responded"
    ctx = dashboard.ctx_for(world.users["admin"], day.date().replace(day=1))
    row = next(r for r in panel(ctx, "alerts").rows if r[0] == "平安打卡未回应")
    assert row[2] == 0, f"the dashboard counts {row[2]} check-in alert(s) as responded to"


# ---- merging a case that already has merged requests ---------------------------------------------

def test_a_case_merged_twice_still_tells_the_first_merged_reporter(app, world, as_user):
    """Fault: reporters_of(case) looks one level down (requests whose merged_into_id is the case).
    C is merged into A, then A (now with C) is merged into B: case_of(C) follows the chain to B, but
    B's notices go to B's and A's reporters only. C's reporter never hears 已处理 or 请评价 and cannot
    rate, though her request page shows B's progress."""
    from webapp.services import accounts, demo
    c = cat(world)
    homes = [h for h in world.grid1 if h.current_residencies][:3]
    people = [accounts.create_user(world.community, f"r2_{i}", f"居民{i}", "resident", demo.PASSWORD,
                                   resident=h.current_residencies[0].resident, password_hash=demo._demo_hash())
              for i, h in enumerate(homes)]
    db.session.commit()
    for person, words in zip(people, ("电梯坏了", "电梯停了", "电梯不动")):
        assert submit(person, {"category_id": c.id, "text": words})["status"] == "stored"
    first, second, third = db.session.scalars(select(Request).order_by(Request.id)).all()
    lead = as_user("leader1")
    assert post(lead, f"/requests/{first.id}/merge", others=third.id).status_code == 302    # C into A
    assert post(lead, f"/requests/{second.id}/merge", others=first.id).status_code == 302   # A into B
    assert svc.case_of(fresh(third.id)).id == second.id
    w = as_user("worker1")
    post(w, f"/requests/{second.id}/dispatch", version=fresh(second.id).version, assignee_id=world.users["worker1"].id)
    assert post(w, f"/requests/{second.id}/handle", version=fresh(second.id).version,
                note="电梯公司已修复").status_code == 302
    told = {p.username for p in people if "您的诉求已处理" in notice_titles(p.id)}
    assert told == {p.username for p in people}, f"told only {sorted(told)}"


# ---- a resident who moves in --------------------------------------------------------------------------

def test_the_next_occupant_does_not_see_the_previous_residents_requests(app, world, as_user):
    """Fault: residents see requests `reporter_id == me OR household_id == my household`, with no
    regard to who wrote them or when. resident1 complains about the neighbour (邻里纠纷) with a
    photo, then moves out; the family that moves into the flat opens /requests and reads her
    complaint, her photo and the timeline."""
    from datetime import date
    from webapp.models import Resident, Residency
    from webapp.services import accounts, demo
    c = cat(world, "邻里纠纷")
    before = world.users["resident1"]
    flat = scope.own_household_id(before)
    clock.freeze(datetime(2025, 12, 1, 2))  # in December, before she moved out
    assert submit(before, {"category_id": c.id, "text": "楼上邻居每晚噪音，已多次沟通无果", "photo": b64(JPEG)})["status"] \
        == "stored"
    req = db.session.scalar(select(Request))
    clock.reset()
    for residency in db.session.scalars(select(Residency).where(Residency.household_id == flat,
                                                                Residency.end_date.is_(None))):
        residency.end_date = date(2026, 1, 1)   # everyone there moved out
    newcomer = Resident(community_id=world.community.id, name="新住户", sex="M", birth_date=date(1980, 1, 1))
    db.session.add(newcomer)
    db.session.flush()
    db.session.add(Residency(resident_id=newcomer.id, household_id=flat, start_date=date(2026, 1, 2)))
    accounts.create_user(world.community, "newcomer", "新住户", "resident", demo.PASSWORD, resident=newcomer,
                         password_hash=demo._demo_hash())
    db.session.commit()
    them = as_user("newcomer")
    assert them.get(f"/requests/{req.id}").status_code == 404
    assert them.get(f"/requests/{req.id}/photos/{req.photo}").status_code == 404
    assert "楼上邻居" not in them.get("/requests").get_data(as_text=True)


# ---- what issue 13 promised from the other kinds -------------------------------------------------

def test_the_dashboard_has_the_requests_and_checkin_figures_issue_13_promised(app, world, as_user):
    """Fault (missing, not broken): issue 13 asks for "requests by category, with the on-time rate and
    average satisfaction" and "check-in compliance" on the dashboard, "open alerts and requests"
    per worker in the team view, and "requests handled on time, and satisfaction" in the
    evaluation. dashboard_panels.PANELS has no request or check-in panel, TeamRow has open alerts
    only and Evaluation no request figure: an admin looking for 诉求 or 打卡 finds nothing."""
    from webapp.services import dashboard, team
    ctx = dashboard.ctx_for(world.users["admin"], localtime.today(world.community).replace(day=1))
    titles = [str(p.title) for p, _prev in dashboard.compute(ctx, compare=False)]
    missing = []
    if not any("诉求" in t for t in titles):
        missing.append("dashboard: requests by category")
    if not any("打卡" in t for t in titles):
        missing.append("dashboard: check-in compliance")
    if not any("request" in f for f in team.TeamRow._fields):
        missing.append("team view: open requests")
    # the evaluation's request figures were built as req_handled, req_on_time, req_on_time_rate and
    # req_rating (tests/test_h13b_dashboard.py checks them by hand): the same promise, their names
    if not {"req_handled", "req_on_time_rate", "req_rating"} <= set(team.Evaluation._fields):
        missing.append("evaluation: requests on time and satisfaction")
    assert not missing, (missing, titles)


# ---- merged: what one reporter learns about the other ----------------------------------------------

def test_a_merged_reporter_does_not_see_the_other_reporters_name(app, world, as_user):
    """Fault: a resident whose request was merged sees the case's timeline, and the timeline's first
    line is "提交诉求 <the case's author>": the other resident's real name (and later her rating and
    comment, signed). Two neighbours who complained separately about a third learn each other's
    identity; a complainant's name is meant to stay with the community (举报人信息保密)."""
    from webapp.services import accounts, demo
    c = cat(world, "邻里纠纷")
    first_person = world.users["resident1"]
    own = scope.own_household_id(first_person)
    other_home = next(h for h in world.grid1 if h.id != own and h.current_residencies)
    second = accounts.create_user(world.community, "resident2", "李四", "resident", demo.PASSWORD,
                                  resident=other_home.current_residencies[0].resident,
                                  password_hash=demo._demo_hash())
    db.session.commit()
    submit(first_person, {"category_id": c.id, "text": "302 每晚装修噪音"})
    submit(second, {"category_id": c.id, "text": "楼上噪音太大"})
    case, dup = db.session.scalars(select(Request).order_by(Request.id)).all()
    assert post(as_user("leader1"), f"/requests/{case.id}/merge", others=dup.id).status_code == 302
    page = as_user("resident2").get(f"/requests/{dup.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert first_person.name not in html, "resident2 sees resident1's name"


# ---- the worker's handling photo ------------------------------------------------------------------

def test_a_phone_photo_on_the_handling_step_does_not_lose_the_note(app, world, as_user):
    """Fault: only the resident's intake form shrinks photos on the phone (data-shrink); the
    handling form's photo input does not, so a photo straight from a worker's camera (2-5 MB) is
    refused with "照片太大（超过200KB）", and the page comes back with an empty textarea: the
    handling note the worker typed on site is gone. Every handling photo from a phone fails."""
    rid, w = a_dispatched_request(world, as_user)
    page = w.get(f"/requests/{rid}").get_data(as_text=True)
    form = page[page.index('id="handle-form"'):]
    form = form[:form.index("</form>")]
    camera_photo = b"\xff\xd8\xff\xe1" + b"\x01" * (2 * 1024 * 1024)
    res = w.post(f"/requests/{rid}/handle", content_type="multipart/form-data", data={
        "csrf_token": w.csrf, "version": fresh(rid).version, "note": "已联系物业更换灯泡，明天复查",
        "photo_file": (io.BytesIO(camera_photo), "IMG_20261123.jpg")})
    assert res.status_code == 400 and "照片太大" in res.get_data(as_text=True)
    assert "已联系物业更换灯泡，明天复查" in res.get_data(as_text=True), "the typed note is lost"
    assert "data-shrink" in form, "the handling form sends the camera's photo unshrunk"


def test_the_evaluation_does_not_charge_a_worker_for_the_residents_late_sync(w):
    """Fault: the evaluation's alert response is acknowledged_at − recorded_at. An elder presses SOS
    in a lift shaft with no signal at 10:00; it reaches the server at 12:00; worker a_w1 takes it at
    12:05. Her response was 5 minutes, but she is charged 125: the evaluation that must not
    penalise a late sync penalises the worker for the resident's. By hand: her October
    acknowledgements are 4, 10 and 5 minutes → median 5.0 (today 10.0)."""
    from webapp.services import dashboard, team
    raised = utc(10, 25)
    dash_alert(w.h3, "sos", raised, ack=125, by=w.w1, resolved=130, received=raised + timedelta(hours=2))
    db.session.commit()
    ev = {e.user.username: e for e in team.evaluate(dashboard.ctx_for(w.admin, OCT))}
    assert (ev["a_w1"].alerts, ev["a_w1"].ack_median) == (3, 5.0)


def test_a_zero_report_for_a_grid_covers_its_micro_grids(app, world, as_user):
    """Fault: the zero-report page offers a worker her top grid only (第1网格), but the 今天既无记录
    也无零上报 panel lists every grid in scope, micro-grids included, and a micro-grid counts as
    reported only by a zero report of its own. worker1 reports "nothing today" for 第1网格 and the
    admin's dashboard still shows 第1网格-1微网格 and 第1网格-2微网格 as silent: the leader chases a
    worker who did report."""
    from webapp.services import dashboard
    clock.freeze(clock.utcnow() + timedelta(days=40))  # a day with no demo records
    w = as_user("worker1")
    day = localtime.today(world.community)
    res = post(w, "/zero", uuid=str(uuid.uuid4()), grid_id=world.grids[0].id, day=day.isoformat())
    assert res.status_code == 302
    ctx = dashboard.ctx_for(world.users["admin"], day.replace(day=1))
    family = {world.grids[0].code} | {g.code for g in world.grids[0].children}
    silent = [row for row in dashboard.one(ctx, "silent").rows if row[0] in family]
    assert silent == [], silent
