"""The demo community: 4 grids, ~40 buildings, ~1,800 households, ~5,000 residents.

Deterministic (seeded random) and idempotent: a second run changes nothing.
"""
import functools
import random
import uuid
from datetime import date, timedelta

from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..models import Building, Community, Household, Residency, Resident, User, resident_categories
from . import accounts, identity, registry
from ..clock import utcnow

PASSWORD = "linli-demo"
CODE = "440105004001"  # 6 district + 3 street + 3 community
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN_M = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建国志伟德福海峰文"
GIVEN_F = "芳娜敏静丽艳娟霞秀英华慧巧美兰凤洁琳素云莲真环雪荣爱妹燕玲桂珍红梅琴淑"
STREETS = ("翠城路", "石冲路", "桂园路", "南华街")
ACCOUNTS = (
    # username, name, role, grid index (1-based) or None
    ("admin", "陈书记", "admin", None),
    ("leader1", "李网格长", "leader", 1),
    ("worker1", "王小红", "worker", 1),
    ("worker2", "张建国", "worker", 2),
    ("volunteer1", "刘志愿", "volunteer", None),
)


@functools.lru_cache(maxsize=1)
def _demo_hash():
    return generate_password_hash(PASSWORD)


def _name(rng, sex):
    given = GIVEN_M if sex == "M" else GIVEN_F
    return rng.choice(SURNAMES) + "".join(rng.choice(given) for _ in range(rng.choice((1, 2, 2))))


def _phone(rng):
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


def seed(households_per_building=45, buildings_per_grid=10, print_fn=print, code=CODE, name="翠城社区",
         grid_count=4, prefix=""):
    """One demo community. Tests seed a second, smaller one with another code and a username prefix."""
    existing = db.session.scalar(select(Community).where(Community.code == code))
    if existing is not None:
        print_fn("Demo community already present; nothing to do.")
        return existing
    rng = random.Random(20261122 if code == CODE else int(code))
    community = registry.create_community(code, name)
    cats = {c.code: c for c in registry.categories(community.id)}
    today = utcnow().date()
    grids = []
    for g in range(1, grid_count + 1):
        grid = registry.save_grid(community, f"第{g}网格")
        grids.append(grid)
        micro = [registry.save_grid(community, f"第{g}网格-{m}微网格", parent=grid) for m in (1, 2)]
        for b in range(1, buildings_per_grid + 1):
            number = (g - 1) * buildings_per_grid + b
            target = micro[(b - 1) * 2 // buildings_per_grid]
            building = Building(grid_id=target.id, name=f"{number}栋",
                                address=f"{rng.choice(STREETS)}{number * 2 + 1}号")
            db.session.add(building)
            db.session.flush()
            _fill_building(rng, community, building, households_per_building, cats, today)
    db.session.flush()
    # accounts
    users = {}
    for username, name, role, grid_no in ACCOUNTS:
        if grid_no and grid_no > grid_count:
            continue
        users[username] = accounts.create_user(
            community, prefix + username, name, role, PASSWORD, phone=_phone(rng),
            grids=[grids[grid_no - 1]] if grid_no else (), password_hash=_demo_hash())
    # resident1 lives in grid 1, aged and alone
    resident = db.session.scalars(
        select(Resident).join(Residency).join(Household).join(Building)
        .where(Building.grid_id.in_([g.id for g in grids[0].children]), Residency.end_date.is_(None))
        .where(Resident.birth_date <= today - timedelta(days=80 * 366))
        .order_by(Resident.id)).first()
    accounts.create_user(community, prefix + "resident1", resident.name, "resident", PASSWORD, phone=_phone(rng),
                         resident=resident, password_hash=_demo_hash())
    _seed_visits(rng, grids, users)
    if "worker2" in users:  # an absence next week (请假), so the page shows one; nobody is away today
        from ..models import Absence
        db.session.add(Absence(user_id=users["worker2"].id, kind="leave", start_date=today + timedelta(days=7),
                               end_date=today + timedelta(days=9), note="年假", created_by=users["admin"].id))
    _seed_dashboard(rng, community, grids, users)
    from . import meals
    meals.seed_demo(community, users["volunteer1"], grids[0], today)
    from . import requests
    requests.ensure_categories(community)
    if households_per_building >= 20:  # the full demo only: the tests' small worlds start with no requests
        db.session.commit()
        requests.seed_demo(community, {"resident1": db.session.scalar(select(User).where(
            User.username == prefix + "resident1")), "worker1": users.get("worker1")},
            db.session.scalars(select(Household).join(Building).where(
                Building.grid_id.in_([g.id for g in grids[0].children])).order_by(Household.id).limit(5)).all())
    db.session.commit()
    return community


def _fill_building(rng, community, building, count, cats, today):
    rows = []
    for i in range(count):
        floor, door = divmod(i, 4)
        rows.append({"building_id": building.id, "unit": str(1 + i % 2), "room": f"{floor + 1}0{door + 1}",
                     "phone": _phone(rng) if rng.random() < 0.6 else None,
                     "emergency_contacts": [], "note": ""})
    ids = db.session.scalars(insert(Household).returning(Household.id, sort_by_parameter_order=True), rows).all()
    people, links, cat_links, contacts = [], [], [], {}
    for hid in ids:
        first = hid == ids[0]
        size = 1 if first else rng.choices((1, 2, 3, 4, 5), weights=(16, 30, 26, 18, 10))[0]
        elderly_alone = first or (size == 1 and rng.random() < 0.5)
        for k in range(size):
            sex = rng.choice("MF")
            if elderly_alone or (k < 2 and rng.random() < 0.17):
                age = rng.randint(80, 96)
            elif k < 2:
                age = rng.randint(28, 79)
            else:
                age = rng.randint(1, 40)
            birth = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
            people.append({
                "community_id": community.id, "name": _name(rng, sex), "sex": sex, "birth_date": birth,
                "phone": _phone(rng) if age > 14 and rng.random() < 0.7 else None,
                "id_number": identity.make_id("440105", birth, len(people) % 1000) if rng.random() < 0.9 else None,
            })
            links.append((hid, "户主" if k == 0 else rng.choice(("配偶", "子女", "父母", "孙子女"))))
            codes = []
            if age >= 60 and size == 1:
                codes.append("alone")
            elif age >= 65 and size == 2 and rng.random() < 0.5:
                codes.append("empty_nest")
            if age >= 70 and rng.random() < 0.08:
                codes.append("disabled")
            if rng.random() < 0.03:
                codes.append("dibao")
            if age < 16 and rng.random() < 0.04:
                codes.append("child")
            cat_links.append(codes)
        if rng.random() < 0.7:
            contacts[hid] = [{"name": _name(rng, rng.choice("MF")), "relation": rng.choice(("儿子", "女儿", "侄子", "邻居")),
                              "phone": _phone(rng)}]
    # ID numbers must be unique: make the sequence part distinct per community
    seen = set(db.session.scalars(select(Resident.id_number).where(Resident.id_number.is_not(None))))
    for p in people:
        if p["id_number"]:
            seq = int(p["id_number"][14:17])
            while p["id_number"] in seen:
                seq = (seq + 1) % 1000
                p["id_number"] = identity.make_id("440105", p["birth_date"], seq)
            seen.add(p["id_number"])
    rids = db.session.scalars(insert(Resident).returning(Resident.id, sort_by_parameter_order=True), people).all()
    db.session.execute(insert(Residency), [
        {"resident_id": rid, "household_id": hid, "relation": rel, "start_date": date(2020, 1, 1)}
        for rid, (hid, rel) in zip(rids, links)])
    cl = [{"resident_id": rid, "category_id": cats[c].id} for rid, codes in zip(rids, cat_links) for c in codes]
    if cl:
        db.session.execute(insert(resident_categories), cl)
    for hid, c in contacts.items():
        db.session.get(Household, hid).emergency_contacts = c


def _seed_visits(rng, grids, users):
    """Past visits, so that some households are due, some overdue and some not yet."""
    from ..models import Visit
    authors = {grids[0].id: users["worker1"]}
    if "worker2" in users:
        authors[grids[1].id] = users["worker2"]
    now = utcnow()
    rows = []
    for grid in grids:
        author = authors.get(grid.id, users["leader1"] if grid is grids[0] else users["admin"])
        ids = [grid.id] + [g.id for g in grid.children]
        households = db.session.scalars(
            select(Household.id).join(Building).where(Building.grid_id.in_(ids)).order_by(Household.id)).all()
        for hid in households:
            if rng.random() < 0.15:
                continue  # never visited yet
            when = now - timedelta(days=rng.uniform(0, 40), hours=rng.uniform(0, 8))
            rows.append({"uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "household_id": hid,
                         "author_id": author.id, "mode": rng.choice(("door", "door", "door", "phone")),
                         "occurred_at": when, "recorded_at": when, "received_at": when,
                         "residents_seen": [], "checks": {k: {"ok": True, "note": ""} for k in
                                                          ("health", "mental", "safety", "hygiene", "living")},
                         "needs": [], "note": "", "urgent": False})
    if rows:
        db.session.execute(insert(Visit), rows)


def _seed_dashboard(rng, community, grids, users):
    """What the dashboard shows beside the visits: grid 2's zero report today (零上报), and the
    last sync of the workers' phones with what they reported still waiting."""
    from ..models import DeviceSync, ZeroReport
    from .. import localtime
    now = utcnow()
    if "worker2" in users and len(grids) > 1:
        db.session.add(ZeroReport(uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)), grid_id=grids[1].id,
                                  day=localtime.today(community), author_id=users["worker2"].id,
                                  recorded_at=now, received_at=now))
    for username, minutes, pending in (("worker1", 12, 2), ("worker2", 300, 0)):
        if username in users:
            db.session.add(DeviceSync(user_id=users[username].id, synced_at=now - timedelta(minutes=minutes),
                                      pending=pending, rejected=0))
    db.session.flush()


def describe_accounts():
    """(username, role, the role's Chinese name, what the account covers) for each demo account."""
    from ..access import role_names
    names = role_names()
    where = {None: "", 1: "第1网格", 2: "第2网格"}
    rows = [(u, r, str(names[r]), where.get(g, f"第{g}网格")) for u, _n, r, g in ACCOUNTS]
    rows[0] = rows[0][:3] + ("全社区",)
    return rows + [("resident1", "resident", str(names["resident"]), "第1网格的独居老人")]


def seed_checkins(community):
    """平安打卡 in the demo: resident1's household and the elders living alone of grid 1's first
    buildings are enrolled (deadline 10:00), one of them in hospital this week. Idempotent. Kept
    out of `seed`, which the tests' world uses, so their clocks raise no check-in reminders."""
    from datetime import timedelta
    from .. import localtime
    from ..models import Building, CheckinEnrolment, Grid, Household, Residency, User
    from . import checkins
    if db.session.scalar(select(CheckinEnrolment.id).join(Household).join(Building).join(Grid)
                         .where(Grid.community_id == community.id).limit(1)):
        return
    worker = db.session.scalar(select(User).where(User.community_id == community.id, User.role == "worker")
                               .order_by(User.id))
    resident = db.session.scalar(select(User).where(User.community_id == community.id, User.role == "resident")
                                 .order_by(User.id))
    ids = []
    if resident is not None and resident.resident_id:
        ids += db.session.scalars(select(Residency.household_id).where(
            Residency.resident_id == resident.resident_id, Residency.end_date.is_(None))).all()
    first_grid = db.session.scalar(select(Grid).where(Grid.community_id == community.id, Grid.parent_id.is_(None))
                                   .order_by(Grid.code))
    for building in db.session.scalars(select(Building).where(
            Building.grid_id.in_([g.id for g in first_grid.children])).order_by(Building.id).limit(4)):
        first = db.session.scalar(select(Household.id).where(Household.building_id == building.id)
                                  .order_by(Household.id))
        if first not in ids:
            ids.append(first)
    today = localtime.today(community)
    for n, hid in enumerate(ids):
        household = db.session.get(Household, hid)
        checkins.enrol(worker, household, "10:00")
        if n == len(ids) - 1 and n > 0:
            checkins.add_pause(worker, household, "hospital", (today - timedelta(days=1)).isoformat(),
                               (today + timedelta(days=5)).isoformat())
    db.session.commit()
