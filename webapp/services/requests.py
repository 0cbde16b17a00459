"""Residents' requests (诉求) in a closed loop: 受理 → 派遣 → 处置 → 反馈 → 核查 → 结案 → 评价.

- Intake is one record kind (`request`) on the one write path: a resident from their app,
  a worker from a household page or a visit's needs, staff for phone calls and walk-ins.
  Photos travel inside the record (base64, shrunk to at most 200 KB on the phone), are
  checked here and written to disk (UPLOAD_FOLDER/requests) under a name made of their
  content hash, so a replay writes the same file once more at most and the database
  holds only the name.
- Every step after intake is a RequestEvent (append-only). A step moves the case by
  compare-and-set on (state, version): two people acting at once, one wins, the other
  is told what happened meanwhile.
- Time limits count the community's working hours (`add_working`): working days and
  hours, public holidays and make-up working days in the community's settings. A case
  near or past its limit climbs the timed ladder (RequestLadder): the assignee, then the
  grid leaders, then the community admins.
"""
import base64
import binascii
import hashlib
import math
import os
import uuid as uuidlib
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import aliased, selectinload

from .. import access, localtime
from ..clock import utcnow
from ..extensions import db
from ..models import Building, Grid, GridAssignment, Household, Residency, User
from ..models.requests import OPEN_STATES, UNSATISFIED, Request, RequestCategory, RequestEvent
from . import coverage, ladder as ladder_mod, push, records, scope, text as text_mod

DEFAULT_CATEGORIES = (  # name, response (working minutes), limit (working minutes)
    ("环境卫生", 240, 2 * 480), ("物业维修", 240, 3 * 480), ("邻里纠纷", 480, 5 * 480),
    ("安全隐患", 60, 480), ("养老服务", 240, 2 * 480), ("政策咨询", 480, 3 * 480), ("其他", 480, 5 * 480))
STATE_LABELS = {"new": _l("待受理"), "accepted": _l("已受理"), "dispatched": _l("处理中"), "meeting": _l("待议事"),
                "handled": _l("待核查"), "verified": _l("待评价"), "closed": _l("已结案"), "merged": _l("已合并")}
EVENT_LABELS = {"submitted": _l("提交诉求"), "accepted": _l("受理"), "dispatched": _l("派遣"),
                "handled": _l("处置"), "told": _l("反馈"), "verified": _l("核查通过"), "returned": _l("核查退回"),
                "closed": _l("结案"), "rated": _l("评价"), "reopened": _l("回退重办"), "merged": _l("合并"),
                "meeting": _l("提交议事"), "meeting_held": _l("议事结果"), "escalated": _l("超时提醒")}
CHANNEL_LABELS = {"app": _l("居民自己提交"), "worker": _l("网格员代录"), "visit": _l("走访发现"),
                  "phone": _l("电话反映"), "walkin": _l("来访反映")}
RATING_LABELS = {5: _l("很满意"), 4: _l("满意"), 3: _l("基本满意"), 2: _l("不满意"), 1: _l("很不满意")}
PHOTO_MAX = 200 * 1024  # bytes, after decoding: what the phone shrinks to
PHOTO_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}
TEXT_MAX, LOCATION_MAX, NOTE_MAX = 1000, 200, 1000
PAGE = 50


class RequestError(ValueError):
    pass


# ---- the community calendar ------------------------------------------------------------

def calendar(community):
    """(open, close, weekdays, holidays, make-up days) from the community's settings."""
    hours = community.setting("work_hours") or ["09:00", "17:00"]
    try:
        opens, closes = (time.fromisoformat(h) for h in hours)
    except (TypeError, ValueError):
        opens, closes = time(9), time(17)
    if closes <= opens:
        opens, closes = time(9), time(17)
    weekdays = set(community.setting("work_weekdays") or [0, 1, 2, 3, 4])
    holidays = set(_dates(community.setting("holidays")))
    extra = set(_dates(community.setting("make_up_days")))
    return opens, closes, weekdays, holidays, extra


def _dates(values):
    out = []
    for v in values or ():
        try:
            out.append(date.fromisoformat(str(v)))
        except ValueError:
            continue
    return out


def working_day(day, cal):
    _o, _c, weekdays, holidays, extra = cal
    return day in extra or (day.weekday() in weekdays and day not in holidays)


def day_minutes(community):
    opens, closes, *_rest = calendar(community)
    return (datetime.combine(date.min, closes) - datetime.combine(date.min, opens)).seconds // 60


def add_working(community, start, minutes):
    """Naive UTC `start` + `minutes` of the community's working time → naive UTC.
    Accepted Friday 17:00 with one working day (8 h) is due Monday 17:00."""
    cal = calendar(community)
    opens, closes = cal[0], cal[1]
    at = localtime.to_local(start, community)
    left = timedelta(minutes=max(0, int(minutes)))
    for _day in range(3 * 366):  # a calendar with no working day at all ends somewhere
        day = at.date()
        if working_day(day, cal):
            begin, end = datetime.combine(day, opens), datetime.combine(day, closes)
            at = max(at, begin)
            if at < end:
                if at + left <= end:
                    return localtime.to_utc(at + left, community)
                left -= end - at
        at = datetime.combine(day + timedelta(days=1), opens)
    return localtime.to_utc(at, community)


def save_calendar(community, work_hours, weekdays, holidays, make_up_days):
    try:
        opens, closes = (time.fromisoformat(h.strip()) for h in work_hours)
    except (TypeError, ValueError):
        raise RequestError(_("工作时间格式应为 09:00。")) from None
    if closes <= opens:
        raise RequestError(_("下班时间应晚于上班时间。"))
    parsed = []
    for text in (holidays, make_up_days):
        days = []
        for part in (text or "").replace("，", ",").replace("\n", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                days.append(date.fromisoformat(part).isoformat())
            except ValueError:
                raise RequestError(_("日期格式不正确：%(value)s（应为 2026-10-01）", value=part[:20])) from None
        parsed.append(sorted(set(days)))
    community.settings = dict(community.settings or {}, work_hours=[opens.strftime("%H:%M"), closes.strftime("%H:%M")],
                              work_weekdays=sorted({int(d) for d in weekdays if str(d) in "0123456"}),
                              holidays=parsed[0], make_up_days=parsed[1])
    db.session.flush()


# ---- categories --------------------------------------------------------------------------

def categories(community_id, active_only=True):
    q = select(RequestCategory).where(RequestCategory.community_id == community_id)
    if active_only:
        q = q.where(RequestCategory.active.is_(True))
    return db.session.scalars(q.order_by(RequestCategory.position, RequestCategory.id)).all()


def ensure_categories(community):
    """The default categories, for a community that has none yet."""
    if categories(community.id, active_only=False):
        return
    for position, (name, response, limit) in enumerate(DEFAULT_CATEGORIES):
        db.session.add(RequestCategory(community_id=community.id, name=name, response_minutes=response,
                                       limit_minutes=limit, position=position))
    db.session.flush()


def save_category(community, name, response_hours, limit_hours, category=None, active=True):
    name = (name or "").strip()
    if not name or len(name) > 30:
        raise RequestError(_("请填写类别名称（30字以内）。"))
    try:
        hours = [float(str(h).strip()) for h in (response_hours, limit_hours)]
    except (TypeError, ValueError):
        raise RequestError(_("时限请填写工作小时数，例如 4 或 0.5。")) from None
    # finite and within bounds before rounding: "1e308", "inf" and "nan" are refused, not a 500
    if not (all(math.isfinite(h) for h in hours) and 0 < hours[0] <= 24 * 30 and 0 < hours[1] <= 24 * 90):
        raise RequestError(_("时限不合理：受理时限应在0到720小时之间，办理时限应在0到2160小时之间。"))
    response, limit = (round(h * 60) for h in hours)
    if response < 1 or limit < 1:
        raise RequestError(_("时限不合理：受理时限应在0到720小时之间，办理时限应在0到2160小时之间。"))
    clash = db.session.scalar(select(RequestCategory.id).where(
        RequestCategory.community_id == community.id, RequestCategory.name == name))
    if clash is not None and (category is None or clash != category.id):
        raise RequestError(_("已有同名类别。"))
    if category is None:
        last = db.session.scalar(select(func.max(RequestCategory.position)).where(
            RequestCategory.community_id == community.id)) or 0
        category = RequestCategory(community_id=community.id, position=last + 1)
        db.session.add(category)
    category.name, category.response_minutes, category.limit_minutes, category.active = name, response, limit, active
    db.session.flush()
    return category


# ---- photos ------------------------------------------------------------------------------

def upload_dir():
    folder = current_app.config.get("UPLOAD_FOLDER") or os.path.join(current_app.instance_path, "uploads")
    return os.path.join(folder, "requests")


def decode_photo(value):
    """A photo from the phone (a data: URL or bare base64) → bytes, or Rejected with the reason."""
    if not isinstance(value, str):
        raise records.Rejected("invalid", _("照片格式不正确。"))
    if value.startswith("data:"):
        value = value.partition(",")[2]
    if len(value) > (PHOTO_MAX * 4) // 3 + 8:
        raise records.Rejected("invalid", _("照片太大（超过200KB），请重新拍一张或选一张小一些的。"))
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise records.Rejected("invalid", _("照片文件已损坏，请重新选择。")) from None
    return check_photo(data)


def check_photo(data):
    if len(data) > PHOTO_MAX:
        raise records.Rejected("invalid", _("照片太大（超过200KB），请重新拍一张或选一张小一些的。"))
    if not photo_type(data):
        raise records.Rejected("invalid", _("所选文件不是照片（只接受 JPG 或 PNG 图片）。"))
    return data


def photo_type(data):
    return next((ext for magic, ext in PHOTO_TYPES.items() if data.startswith(magic)), None)


def store_photo(data):
    """Write once under the content's hash; the same photo again is the same file."""
    name = f"{hashlib.sha256(data).hexdigest()[:40]}.{photo_type(data)}"
    folder = upload_dir()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return name


def photo_path(name):
    return os.path.join(upload_dir(), name)


def photos_of(req):
    return {n for n in [req.photo] + [e.photo for e in req.events] if n}


# ---- scope -------------------------------------------------------------------------------

def visible(user):
    """The requests a user may see: residents their own (or their household's), grid staff their
    grids' and those dispatched to them, admins their community's; volunteers none."""
    q = select(Request)
    if user.role == "admin":
        return q.where(Request.community_id == user.community_id)
    if user.role in access.GRID_ASSIGNED:
        return q.where(Request.community_id == user.community_id,
                       or_(Request.grid_id.in_(scope.grid_ids(user) or {-1}), Request.assignee_id == user.id))
    if user.role == "resident":
        mine_q = Request.reporter_id == user.id
        since = residency_since(user)
        if since is not None:  # staff-recorded for their household during their own residency
            household_id, start = since
            mine_q = or_(mine_q, (Request.reporter_id.is_(None)) & (Request.household_id == household_id)
                         & (Request.recorded_at >= start))
        return q.where(Request.community_id == user.community_id, mine_q)
    return q.where(Request.id == -1)


def residency_since(user):
    """(household id, naive UTC start) of a resident's current residency, or None. A resident sees the
    requests staff recorded for their household from then on, never those of the people before them."""
    if user.role != "resident" or not user.resident_id:
        return None
    row = db.session.execute(select(Residency.household_id, Residency.start_date).where(
        Residency.resident_id == user.resident_id, Residency.end_date.is_(None))
        .order_by(Residency.start_date.desc())).first()
    if row is None:
        return None
    return row[0], localtime.to_utc(datetime.combine(row[1], time()), user.community)


def get(user, request_id):
    return db.session.scalar(visible(user).where(Request.id == request_id))


def case_of(req):
    """The case whose timeline a request follows: itself, or the one it was merged into."""
    seen = set()
    while req.merged_into_id and req.id not in seen:
        seen.add(req.id)
        req = db.session.get(Request, req.merged_into_id)
    return req


def merged_of(case_req):
    """Every request merged into the case, along the whole chain (C into A, then A into B: both)."""
    found, frontier = {}, [case_req.id]
    while frontier:
        rows = db.session.scalars(select(Request).where(Request.merged_into_id.in_(frontier))).all()
        frontier = [r.id for r in rows if r.id not in found and r.id != case_req.id]
        found.update((r.id, r) for r in rows if r.id != case_req.id)
    return sorted(found.values(), key=lambda r: r.id)


def reporters_of(case_req):
    """{resident user id: the id of their own request} for everyone who reported this case (its own
    request and the merged ones), or lives in a household it was recorded for: each is told about
    the case through the request they can open."""
    out = {}
    for r in [case_req] + merged_of(case_req):
        if r.reporter_id:
            out.setdefault(r.reporter_id, r.id)
        elif r.household_id:
            for uid, start in db.session.execute(
                    select(User.id, Residency.start_date).join(Residency, (Residency.resident_id == User.resident_id)
                                                               & Residency.end_date.is_(None))
                    .where(Residency.household_id == r.household_id, User.role == "resident",
                           User.active.is_(True))):
                if r.recorded_at >= localtime.to_utc(datetime.combine(start, time()), r.grid.community):
                    out.setdefault(uid, r.id)
    return out


def reporters(case_req):
    return sorted(reporters_of(case_req))


def _grid_chain(grid_id):
    chain, grid = [], db.session.get(Grid, grid_id)
    while grid is not None:
        chain.append(grid.id)
        grid = grid.parent
    return chain


def grid_staff(req, role):
    return list(db.session.scalars(
        select(User.id).join(GridAssignment, GridAssignment.user_id == User.id)
        .where(GridAssignment.grid_id.in_(_grid_chain(req.grid_id)), User.role == role, User.active.is_(True))
        .distinct()))


def admins(req):
    return list(db.session.scalars(select(User.id).where(
        User.community_id == req.community_id, User.role == "admin", User.active.is_(True))))


def _away(req):
    community = req.grid.community
    return coverage.away_ids(community, localtime.today(community))


def at_work(req, *roles):
    """The grid's staff of the first of `roles` with someone not away today (请假/病假); then the
    community's admins at work; then all admins: someone is always told."""
    away = _away(req)
    for role in roles:
        ids = [u for u in grid_staff(req, role) if u not in away]
        if ids:
            return ids
    everyone = admins(req)
    return [u for u in everyone if u not in away] or everyone


def _first_rung(req):
    """The assignee, or (away or none yet) whoever of the grid is at work."""
    if req.assignee_id and req.assignee_id not in _away(req):
        return [req.assignee_id]
    return at_work(req, "worker", "leader")


def assignees(user, req):
    """Whom a case may be dispatched to: the grid's workers and leaders (and the dispatcher)."""
    ids = set(grid_staff(req, "worker")) | set(grid_staff(req, "leader")) | {user.id}
    return db.session.scalars(select(User).where(User.id.in_(ids), User.community_id == req.community_id,
                                                 User.role.in_(access.HANDLE_REQUESTS))
                              .order_by(User.role.desc(), User.name)).all()


# ---- intake: the record kind --------------------------------------------------------------

def free_text(value, label, limit):
    """Every free-text field of the loop's steps (notes, the outside party, the rating's comment, the
    meeting's participants and resolution): stripped, within `limit`, no control characters
    (line breaks and tabs kept), else a RequestError in Chinese and nothing saved."""
    return text_mod.clean(value, label, limit, error=RequestError, multiline=True)


def _text(payload, field, limit, message):
    value = payload.get(field) or ""
    if not isinstance(value, str):
        raise records.Rejected("invalid", message)
    value = value.strip()
    if len(value) > limit:
        raise records.Rejected("invalid", message)
    return value


class RequestKind(records.RecordKind):
    """A resident's request (诉求), from the resident, a worker or staff."""
    name = "request"
    model = Request
    label = _l("诉求")
    priority = 15
    roles = (access.REQUESTS,)
    refers_to = None  # a household or a grid in the user's scope: checked in validate
    max_string = (PHOTO_MAX * 4) // 3 + 1000  # the photo travels inside the record, as base64
    example = {"uuid": "3f0c8d2e-1b4a-4c6d-8e9f-0a1b2c3d4e5f", "kind": "request",
               "recorded_at": "2026-11-23T02:00:00Z",
               "payload": {"category_id": 3, "text": "楼道灯坏了", "location": "5栋2单元",
                           "photo": "data:image/jpeg;base64,/9j/4AAQSkZJRg..."}}

    def prepare(self, user, payloads):
        own = scope.own_household_id(user) if user.role == "resident" else None
        asked = {records.as_int(p.get("household_id")) for p in payloads} - {None}
        households = {}
        if user.role != "resident" and asked:
            households = dict(db.session.execute(
                scope.households(user).with_only_columns(Household.id, Building.grid_id)
                .where(Household.id.in_(asked))).all())
        elif own:
            households = dict(db.session.execute(select(Household.id, Building.grid_id).join(Building)
                                                 .where(Household.id == own)).all())
        return {"own": own, "households": households, "grids": scope.grid_ids(user),
                "categories": {c.id: c for c in categories(user.community_id)}}

    def validate(self, user, payload, ctx):
        category = ctx["categories"].get(records.as_int(payload.get("category_id")))
        if category is None:
            raise records.Rejected("invalid", _("请选择诉求类别。"))
        text = _text(payload, "text", TEXT_MAX, _("诉求内容太长（1000字以内）。"))
        if not text:
            raise records.Rejected("invalid", _("请写下您要反映的事情。"))
        location = _text(payload, "location", LOCATION_MAX, _("地点太长（200字以内）。"))
        photo = decode_photo(payload["photo"]) if payload.get("photo") else None
        clean = {"category_id": category.id, "text": text, "location": location, "photo": photo,
                 "community_id": user.community_id, "reporter_name": "", "reporter_phone": "", "visit_uuid": None}
        if user.role == "resident":
            if not ctx["own"] or ctx["own"] not in ctx["households"]:
                raise records.Rejected("out_of_scope", _("您的账号还没有登记住址，请联系网格员。"))
            clean.update(household_id=ctx["own"], grid_id=ctx["households"][ctx["own"]], channel="app",
                         reporter_id=user.id)
            return clean
        household_id = records.as_int(payload.get("household_id"))
        if household_id is not None:
            if household_id not in ctx["households"]:
                raise records.Rejected("out_of_scope", _("这户不在您负责的网格内（可能已调整），记录未被接受。"))
            grid_id = ctx["households"][household_id]
        else:
            grid_id = records.as_int(payload.get("grid_id"))
            if grid_id is None:
                raise records.Rejected("invalid", _("请选择诉求所在的网格或住户。"))
            if grid_id not in ctx["grids"]:
                raise records.Rejected("out_of_scope", _("这个网格不在您的范围内。"))
        channel = payload.get("channel") or "worker"
        visit_uuid = records._uuid(payload.get("visit_uuid")) if payload.get("visit_uuid") else None
        if visit_uuid:
            channel = "visit"
        if channel not in ("worker", "visit", "phone", "walkin"):
            raise records.Rejected("invalid", _("未知的来源。"))
        clean.update(household_id=household_id, grid_id=grid_id, channel=channel, reporter_id=None,
                     visit_uuid=visit_uuid,
                     reporter_name=_text(payload, "reporter_name", 50, _("反映人姓名太长。")),
                     reporter_phone=_text(payload, "reporter_phone", 20, _("电话号码太长。")))
        return clean

    def row(self, user, clean):
        now = utcnow()
        category = db.session.get(RequestCategory, clean["category_id"])
        community = user.community
        row = {k: v for k, v in clean.items() if k != "photo"}
        row.update(author_id=user.id, photo=store_photo(clean["photo"]) if clean["photo"] else None,
                   version=1, updated_at=now, level=-1)
        if clean["channel"] == "app":  # waits to be accepted within the response time
            row.update(state="new", respond_by=add_working(community, now, category.response_minutes))
            row["next_escalation_at"] = _warn_at(community, now, category.response_minutes)
        else:  # recorded by staff: accepted as it is recorded
            row.update(state="accepted", respond_by=now, due_at=add_working(community, now, category.limit_minutes))
            row["next_escalation_at"] = _warn_at(community, now, category.limit_minutes)
        return row

    def after_store(self, user, stored):
        for rec_uuid, clean in stored:
            req = db.session.scalar(select(Request).where(Request.uuid == rec_uuid))
            if req.channel == "app":
                _notify(at_work(req, "worker", "leader"), _("新诉求待受理"), req)
            else:
                _tell_reporters(req, _("社区已受理您的诉求"))
        db.session.commit()


def _warn_at(community, start, minutes):
    """The first rung ("close to the limit"): three quarters of the time limit."""
    return add_working(community, start, minutes * 3 // 4)


def _notify(user_ids, title, req, body=None):
    ids = [u for u in user_ids if u]
    if ids:
        push.add_notices(ids, title, body or f"{req.category.name}：{req.text[:40]}", f"/requests/{req.id}",
                         subject=("request", req.id))


def _tell_reporters(case_req, title, body=None):
    """The residents of a case, each with a link to their own request (a merged one included)."""
    by_request = {}
    for uid, rid in reporters_of(case_req).items():
        by_request.setdefault(rid, []).append(uid)
    for rid, uids in by_request.items():
        push.add_notices(uids, title, body or f"{case_req.category.name}：{case_req.text[:40]}", f"/requests/{rid}",
                         subject=("request", rid))


# ---- the loop ----------------------------------------------------------------------------

def _event(req, kind, user=None, note="", photo=None, **detail):
    db.session.add(RequestEvent(request_id=req.id, kind=kind, user_id=user.id if user else None, at=utcnow(),
                                note=(note or "")[:NOTE_MAX], photo=photo, detail=detail))


def _move(req, version, expected, new_state, refused, **values):
    """Compare-and-set: move `req` from one of `expected` states at `version` to `new_state`.
    Another step in between (a second tap, a colleague) → RequestError saying what happened."""
    version = req.version if version is None else version
    moved = db.session.execute(
        update(Request).where(Request.id == req.id, Request.version == version, Request.state.in_(expected))
        .values(state=new_state, version=Request.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        db.session.refresh(req)
        if req.version != version and req.state not in expected:
            raise RequestError(_("这件诉求刚刚已被他人处理（现在：%(state)s），请查看最新进度。",
                                 state=STATE_LABELS[req.state]))
        if req.version != version:
            raise RequestError(_("这件诉求刚刚有了新进展，请刷新后再操作。"))
        raise RequestError(refused)
    db.session.refresh(req)


def _rearm(req, start=None):
    """A fresh time limit from now (accepted, sent back, back from a meeting)."""
    now = start or utcnow()
    community = req.grid.community
    minutes = req.category.limit_minutes
    return {"due_at": add_working(community, now, minutes), "level": -1,
            "next_escalation_at": _warn_at(community, now, minutes)}


def accept(user, req, version):
    _move(req, version, ("new",), "accepted", _("这件诉求已经受理过了。"), **_rearm(req))
    _event(req, "accepted", user)
    _tell_reporters(req, _("您的诉求已受理"), _("%(name)s 已受理您的诉求，将尽快安排处理。", name=user.name))
    db.session.flush()


def dispatch(user, req, version, assignee_id=None, outside=""):
    """To a worker or the leader (an account), or to an outside party (物业公司, 12345…), recorded as
    text; then the dispatcher follows it up."""
    outside = text_mod.clean(outside, _("外部单位名称"), 100, error=RequestError)
    assignee = None
    if assignee_id:
        assignee = next((u for u in assignees(user, req) if u.id == assignee_id), None)
        if assignee is None:
            raise RequestError(_("只能派给本网格的网格员或网格长。"))
    elif not outside:
        raise RequestError(_("请选择派给谁，或填写外部单位（如物业公司、12345热线）。"))
    assignee = assignee or user
    extra = {} if req.state == "dispatched" else _rearm(req) if req.due_at is None else {}
    _move(req, version, ("new", "accepted", "dispatched"), "dispatched", _("这件诉求现在不能派遣。"),
          assignee_id=assignee.id, outside_party=outside, **extra)
    if not any(e.kind == "accepted" for e in req.events) and req.channel == "app":
        _event(req, "accepted", user)
    _event(req, "dispatched", user, detail_text(assignee, outside), assignee_id=assignee.id, outside=outside)
    if assignee.id != user.id:
        _notify([assignee.id], _("派给您的诉求"), req)
    _tell_reporters(req, _("您的诉求已派人处理"), _("已派给：%(who)s", who=outside or assignee.name))
    db.session.flush()


def detail_text(assignee, outside):
    return outside + (f"（{_('跟进人')}：{assignee.name}）" if outside else assignee.name)


def handle(user, req, version, note, photo=None):
    """处置 with notes (and a photo), and 反馈: the resident is told what was done."""
    note = free_text(note, _("处理情况"), NOTE_MAX)
    if not note:
        raise RequestError(_("请写下处理情况（会告诉居民）。"))
    name = store_photo(photo) if photo else None
    _move(req, version, ("dispatched",), "handled", _("这件诉求还没有派遣，或已经处置过了。"),
          next_escalation_at=None)
    _event(req, "handled", user, note, photo=name)
    _event(req, "told", user, note)
    _tell_reporters(req, _("您的诉求已处理"), note[:100])
    _notify(at_work(req, "leader"), _("诉求待核查"), req)
    db.session.flush()


def verify(user, req, version, passed, note=""):
    note = free_text(note, _("核查意见"), NOTE_MAX)
    if passed:
        _move(req, version, ("handled",), "verified", _("这件诉求现在不需要核查。"))
        _event(req, "verified", user, note)
        _tell_reporters(req, _("请评价诉求的办理"), _("您的诉求已办结，请打分评价。"))
    else:
        if not note:
            raise RequestError(_("退回重办请写明原因。"))
        _move(req, version, ("handled",), "dispatched", _("这件诉求现在不需要核查。"), **_rearm(req))
        _event(req, "returned", user, note)
        _notify([req.assignee_id], _("诉求被退回重办"), req, note[:100])
    db.session.flush()


def close(user, req, version, note=""):
    note = free_text(note, _("结案说明"), NOTE_MAX)
    _move(req, version, ("verified",), "closed", _("只有核查通过的诉求可以结案。"))
    _event(req, "closed", user, note)
    _tell_reporters(req, _("您的诉求已结案"))
    db.session.flush()


def rate(user, req, rating, comment=""):
    """评价 by a reporter: 1-5. `UNSATISFIED` or below sends the case back to handling (回退)."""
    if user.id not in reporters(req):
        raise RequestError(_("只有反映人可以评价。"))
    if rating not in (1, 2, 3, 4, 5):
        raise RequestError(_("请选择1到5颗星。"))
    comment = free_text(comment, _("评价内容"), 500)
    if req.state not in ("verified", "closed") or (req.state == "closed" and req.rating is not None):
        raise RequestError(_("这件诉求还没有办结，暂时不能评价。") if req.state != "closed"
                           else _("这件诉求已经评价过了。"))
    if rating <= UNSATISFIED:
        _move(req, None, ("verified", "closed"), "dispatched", _("这件诉求还没有办结，暂时不能评价。"),
              rating=rating, **_rearm(req))
        _event(req, "rated", user, comment, rating=rating)
        _event(req, "reopened", None, _("居民不满意，退回重新处理"))
        _notify([req.assignee_id] + grid_staff(req, "leader"), _("居民不满意，诉求退回重办"), req,
                _("评分 %(n)s：%(comment)s", n=rating, comment=comment[:80]))
    else:
        was = req.state
        _move(req, None, ("verified", "closed"), "closed", _("这件诉求还没有办结，暂时不能评价。"), rating=rating)
        _event(req, "rated", user, comment, rating=rating)
        if was != "closed":
            _event(req, "closed", None, _("居民满意，结案"))
        _notify([req.assignee_id], _("居民已评价"), req, _("评分 %(n)s", n=rating))
    db.session.flush()


def merge(user, case_req, others):
    """Several residents reporting one thing: one case; the others follow its timeline."""
    others = [o for o in others if o.id != case_req.id]
    if not others:
        raise RequestError(_("请至少选择一件要并入的诉求。"))
    if case_req.state in ("merged", "closed"):
        raise RequestError(_("不能并入已结案或已合并的诉求。"))
    # Rows locked in id order (PostgreSQL), then the case itself compare-and-set: two crossed merges
    # at once (#1 into #2 and #2 into #1) cannot both pass; the second is told what happened.
    db.session.execute(select(Request.id).where(Request.id.in_([case_req.id] + [o.id for o in others]))
                       .order_by(Request.id).with_for_update())
    _move(case_req, case_req.version, tuple(s for s in STATE_LABELS if s not in ("merged", "closed")),
          case_req.state, _("不能并入已结案或已合并的诉求。"))
    for other in others:
        _move(other, None, ("new", "accepted", "dispatched", "meeting", "handled", "verified"), "merged",
              _("已结案或已合并的诉求不能再合并。"), merged_into_id=case_req.id, next_escalation_at=None)
        _event(other, "merged", user, _("并入诉求 #%(id)s", id=case_req.id), case_id=case_req.id)
        _event(case_req, "merged", user, _("并入诉求 #%(id)s", id=other.id), merged_id=other.id)
    _tell_reporters(case_req, _("您的诉求已与同类诉求合并办理"))
    db.session.flush()


def to_meeting(user, req, version, note=""):
    note = free_text(note, _("说明"), 200)
    _move(req, version, ("accepted", "dispatched"), "meeting", _("这件诉求现在不能提交议事。"),
          next_escalation_at=None)
    _event(req, "meeting", user, note)
    _tell_reporters(req, _("您的诉求将提交居民议事"))
    db.session.flush()


def meeting_held(user, req, version, held_on, participants, resolution):
    participants = free_text(participants, _("参加各方"), 300)
    resolution = free_text(resolution, _("议事结果"), NOTE_MAX)
    if held_on is None:
        raise RequestError(_("请填写议事日期。"))
    if not participants or not resolution:
        raise RequestError(_("请填写参加议事的各方和议事结果。"))
    _move(req, version, ("meeting",), "dispatched", _("这件诉求不在议事中。"), **_rearm(req))
    _event(req, "meeting_held", user, resolution, date=held_on.isoformat(), participants=participants)
    _tell_reporters(req, _("议事已有结果"), resolution[:100])
    db.session.flush()


# ---- the deadline ladder ----------------------------------------------------------------

def _target(req):
    return req.respond_by if req.state == "new" else req.due_at


class RequestLadder(ladder_mod.Ladder):
    """Close to the limit (three quarters of it) the assignee (or the grid's workers) is told;
    at the limit the grid leaders; a working day past it the community admins. People away today
    (请假/病假) are passed over for whoever is at work next (`at_work`)."""
    model = Request
    subject_type = "request"
    rungs = (
        ladder_mod.Rung(_l("经办人"), _first_rung),
        ladder_mod.Rung(_l("网格长"), lambda r: at_work(r, "leader"),
                        lambda r: _target(r) - r.received_at),
        ladder_mod.Rung(_l("社区管理员"), lambda r: at_work(r),
                        lambda r: add_working(r.grid.community, _target(r), day_minutes(r.grid.community))
                        - r.received_at),
    )

    def climbing(self):
        return Request.state.in_(("new", "accepted", "dispatched"))

    def started_at(self, req):
        return req.received_at

    def record(self, req, level, rung, recipients):
        _event(req, "escalated", None, _("%(who)s %(n)s人", who=rung.label, n=len(recipients)), level=level)

    def message(self, req, level, now):
        target = _target(req)
        if now < target:
            title = _("诉求快到期限")
        else:
            title = _("诉求已超期")
        due = localtime.to_local(target, req.grid.community).strftime("%m-%d %H:%M")
        return title, _("%(cat)s：%(text)s（期限 %(due)s）", cat=req.category.name, text=req.text[:30], due=due), \
            f"/requests/{req.id}"


LADDER = RequestLadder()


def escalate_due(now=None):
    """The scheduler's sweep: every request whose next rung has come."""
    return ladder_mod.run_due(LADDER, now)


# ---- lists ---------------------------------------------------------------------------------

def overdue_expr(now):
    return case((Request.state.in_(OPEN_STATES) & (func.coalesce(Request.due_at, Request.respond_by) < now), 0),
                else_=1)


def board(user, state="open", category_id=None, grid_id=None, page=1, now=None):
    """(rows, total) of the board: filters, overdue first, then by time limit; PAGE a page."""
    now = now or utcnow()
    q = visible(user)
    if state == "open":
        q = q.where(Request.state.in_(OPEN_STATES))
    elif state == "overdue":
        q = q.where(Request.state.in_(OPEN_STATES), func.coalesce(Request.due_at, Request.respond_by) < now)
    elif state in STATE_LABELS:
        q = q.where(Request.state == state)
    if category_id:
        q = q.where(Request.category_id == category_id)
    if grid_id:
        q = q.where(Request.grid_id == grid_id)
    total = db.session.scalar(q.with_only_columns(func.count(Request.id)).order_by(None))
    rows = db.session.scalars(q.order_by(overdue_expr(now), func.coalesce(Request.due_at, Request.respond_by),
                                         Request.id).limit(PAGE).offset(PAGE * (max(1, page) - 1))
                              .options(selectinload(Request.category), selectinload(Request.grid),
                                       selectinload(Request.assignee))).all()
    return rows, total


def mine(user, limit=50):
    """A resident's own requests, newest first."""
    return db.session.scalars(visible(user).order_by(Request.received_at.desc(), Request.id.desc())
                              .limit(limit)).all()


def queue(user, now=None):
    """A worker's queue: open cases of their grids and cases dispatched to them, overdue first."""
    rows, _total = board(user, state="open", now=now)
    handled = db.session.scalars(visible(user).where(Request.state == "handled").limit(PAGE)).all() \
        if user.role in access.VERIFY_REQUESTS else []
    return rows, handled


def is_overdue(req, now=None):
    target = _target(req)
    return req.state in OPEN_STATES and target is not None and target < (now or utcnow())


def merge_candidates(user, case_req, limit=20):
    """Other unfinished requests of the same category and grid: likely the same thing reported twice."""
    return db.session.scalars(visible(user).where(
        Request.id != case_req.id, Request.category_id == case_req.category_id, Request.grid_id == case_req.grid_id,
        Request.state.in_(("new", "accepted", "dispatched", "meeting", "handled", "verified")))
        .order_by(Request.id.desc()).limit(limit)).all()


def for_visit(user, visit_uuid):
    """The requests recorded from a visit's needs (the visit page links to them)."""
    return db.session.scalars(visible(user).where(Request.visit_uuid == visit_uuid).order_by(Request.id)).all()


def seed_demo(community, users, households):
    """Categories, a working calendar and a few cases at different steps, for the demo."""
    ensure_categories(community)
    cats = categories(community.id)
    resident = users.get("resident1")
    worker = users.get("worker1")
    samples = [("楼下巷子里有两辆僵尸车，占了消防通道", 3), ("想问问加装电梯的补贴怎么申请", 5),
               ("邻居家养鸡，气味很大", 2), ("5栋楼道的防火门关不上", 3), ("希望小区增加电动车充电桩", 1)]
    for n, (text, cat) in enumerate(samples):
        if n == 0 and resident is not None:
            records.ingest_one(resident, "request", str(uuidlib.uuid4()),
                               {"category_id": cats[cat].id, "text": text, "location": ""})
        elif worker is not None and households:
            records.ingest_one(worker, "request", str(uuidlib.uuid4()),
                               {"category_id": cats[cat].id, "text": text, "household_id": households[n].id})


# ---- the dashboard (webapp/dashboard_panels.py) and the evaluation ---------------------------

SENT_BACK = ("returned", "reopened")  # 核查退回, and a resident's low rating (回退重办)


def final_handlings():
    """(request_id, user_id, at) of each 处置 that stood: not followed by a send-back of the same case.
    A case has at most one (after 处置 only a send-back reopens it). Nothing re-arms the time limit
    after a handling that stood, so the case's stored due_at is the limit it was handled against."""
    later = select(RequestEvent.id).where(RequestEvent.request_id == _handled.request_id,
                                          RequestEvent.kind.in_(SENT_BACK), RequestEvent.id > _handled.id)
    return (select(_handled.request_id, _handled.user_id, _handled.at)
            .where(_handled.kind == "handled", ~later.exists())).subquery("fh")


_handled = aliased(RequestEvent, name="handled_ev")


def dashboard_panel(ctx):
    """诉求 by category: the month's requests (by when they were made; merged ones follow their case),
    on time against the stored time limit, average satisfaction, and how many were sent back."""
    from sqlalchemy import and_
    from .dashboard import Chart, Panel, _pct, _round
    fh = final_handlings()
    now = utcnow()
    sent_back = select(RequestEvent.id).where(RequestEvent.request_id == Request.id,
                                              RequestEvent.kind.in_(SENT_BACK)).exists()
    overdue = and_(Request.state.in_(OPEN_STATES), func.coalesce(Request.due_at, Request.respond_by) < now)
    rows = {cid: rest for cid, *rest in db.session.execute(
        select(Request.category_id, func.count(), func.count(fh.c.at),
               func.sum(case((fh.c.at <= Request.due_at, 1), else_=0)), func.sum(case((overdue, 1), else_=0)),
               func.avg(Request.rating), func.sum(case((sent_back, 1), else_=0)))
        .outerjoin(fh, fh.c.request_id == Request.id)
        .where(Request.community_id == ctx.community.id, Request.grid_id.in_(ctx.grid_ids or [-1]),
               Request.state != "merged", Request.recorded_at >= ctx.start, Request.recorded_at < ctx.end)
        .group_by(Request.category_id))}
    out = []
    for cat in db.session.scalars(select(RequestCategory).where(RequestCategory.community_id == ctx.community.id)
                                  .order_by(RequestCategory.position, RequestCategory.id)):
        if cat.id not in rows and not cat.active:
            continue
        n, handled, on_time, late_open, rating, back = rows.get(cat.id, (0, 0, 0, 0, None, 0))
        on_time, late_open, back = int(on_time or 0), int(late_open or 0), int(back or 0)
        out.append([cat.name, n, handled, on_time, late_open, _pct(on_time, handled + late_open),
                    _round(float(rating)) if rating is not None else None, back])
    ratings = db.session.scalar(
        select(func.avg(Request.rating)).where(
            Request.community_id == ctx.community.id, Request.grid_id.in_(ctx.grid_ids or [-1]),
            Request.state != "merged", Request.recorded_at >= ctx.start, Request.recorded_at < ctx.end))
    on_time, judged = sum(r[3] for r in out), sum(r[2] + r[4] for r in out)
    return Panel("requests", _("居民诉求（按类别）"),
                 [_("类别"), _("诉求件数"), _("已处置"), _("按时处置"), _("超时未处置"), _("按时率%"), _("平均满意度（1-5）"),
                  _("回退件数")],
                 out, Chart(0, 5, "%", 100),
                 {_("诉求件数"): sum(r[1] for r in out), _("按时率%"): _pct(on_time, judged),
                  _("平均满意度（1-5）"): _round(float(ratings)) if ratings is not None else None,
                  _("回退件数"): sum(r[7] for r in out)},
                 _("按诉求提出的时间计入本月，并入其他诉求的不单独算。已处置：处置后没有被核查退回、也没有因居民不满意而回退。"
                   "按时：处置时间不晚于该件的办理时限（按社区工作时间算好并保存的时限，退回重办后重新起算）。"
                   "按时率＝按时处置÷（已处置＋已超时仍未处置）×100，未到时限也未处置的不计。"
                   "平均满意度：居民评分（1-5）的平均值。回退件数：被核查退回或因居民不满意回退过的诉求。"))
