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
from ..models import Building, Community, Household, Residency, Resident, resident_categories
from . import accounts, identity, registry
from .clock import utcnow

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


def seed(households_per_building=45, buildings_per_grid=10, print_fn=print):
    existing = db.session.scalar(select(Community).where(Community.code == CODE))
    if existing is not None:
        print_fn("Demo community already present; nothing to do.")
        return existing
    rng = random.Random(20261122)
    community = registry.create_community(CODE, "翠城社区")
    cats = {c.code: c for c in registry.categories(community.id)}
    today = utcnow().date()
    grids = []
    for g in range(1, 5):
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
        users[username] = accounts.create_user(
            community, username, name, role, PASSWORD, phone=_phone(rng),
            grids=[grids[grid_no - 1]] if grid_no else (), password_hash=_demo_hash())
    # resident1 lives in grid 1, aged and alone
    resident = db.session.scalars(
        select(Resident).join(Residency).join(Household).join(Building)
        .where(Building.grid_id.in_([g.id for g in grids[0].children]), Residency.end_date.is_(None))
        .where(Resident.birth_date <= today - timedelta(days=80 * 366))
        .order_by(Resident.id)).first()
    accounts.create_user(community, "resident1", resident.name, "resident", PASSWORD, phone=_phone(rng),
                         resident=resident, password_hash=_demo_hash())
    _seed_visits(rng, grids, users)
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
    authors = {grids[0].id: users["worker1"], grids[1].id: users["worker2"]}
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


def describe_accounts():
    return [(u, r) for u, _n, r, _g in ACCOUNTS] + [("resident1", "resident")]
