"""Registry rules: listing with eager loading, search, care labels, edits with history."""
import re
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from ..extensions import db
from ..models.registry import RISK_LEVELS, name_initials  # noqa: F401  (re-exported)
from ..models import (Building, CareCategory, Community, Grid, Household, Residency,
                      Resident, resident_categories)
from . import identity, scope, text
from .. import localtime

# code, name, level, interval_days, derived
DEFAULT_CATEGORIES = (
    ("alone", "独居老人", "high", 7, False),
    ("empty_nest", "空巢老人", "key", 30, False),
    ("left_behind", "留守老人", "key", 30, False),
    ("aged", "高龄", "key", 30, True),
    ("disabled", "失能/半失能", "high", 7, False),
    ("handicapped", "残疾", "key", 30, False),
    ("dibao", "低保", "general", 90, False),
    ("tekun", "特困", "key", 30, False),
    ("child", "困境儿童", "key", 30, False),
    ("other", "其他", "general", 90, False),
)
# 80+ and living alone, empty-nest or left-behind: high risk, at least weekly.
HIGH_RISK_AGED_WITH = {"alone", "empty_nest", "left_behind"}
DEFAULT_SETTINGS = {
    "high_risk_days": 7,
    "escalate_leader_minutes": 5,
    "escalate_admin_minutes": 15,
    "overdue_alert_margin_days": 3,
    "checkin_grace_minutes": 30,
}


class RegistryError(ValueError):
    pass


def ensure_categories(community):
    have = set(db.session.scalars(select(CareCategory.code).where(CareCategory.community_id == community.id)))
    for code, name, level, days, derived in DEFAULT_CATEGORIES:
        if code not in have:
            db.session.add(CareCategory(community_id=community.id, code=code, name=name, level=level,
                                        interval_days=days, derived=derived))
    db.session.flush()


def categories(community_id):
    return db.session.scalars(
        select(CareCategory).where(CareCategory.community_id == community_id).order_by(CareCategory.id)
    ).all()


def care_labels(resident, aged_category=None):
    """The resident's categories, with 高龄 derived from the birth date."""
    names = [c.name for c in resident.categories if not c.derived]
    if resident.is_aged:
        names.insert(0, aged_category.name if aged_category else "高龄")
    return names


def visit_interval(resident, cats_by_code, high_risk_days):
    """Days between visits the resident needs, or None when no category applies."""
    own = [c.interval_days for c in resident.categories if not c.derived]
    return _interval(min(own) if own else None, resident.is_aged,
                     bool({c.code for c in resident.categories} & HIGH_RISK_AGED_WITH), cats_by_code, high_risk_days)


def _interval(own_days, aged, high_risk_with, cats_by_code, high_risk_days):
    """The one rule behind visit_interval and visit_intervals: the shortest of the resident's own
    categories, 高龄 when 80+, and the high-risk interval when 80+ and alone/empty-nest/left-behind."""
    days = [own_days] if own_days else []
    if aged and "aged" in cats_by_code:
        days.append(cats_by_code["aged"].interval_days)
        if high_risk_with:
            days.append(high_risk_days)
    return min(days) if days else None


def _aged_born_by(today):
    """The latest birth date of someone 80 or older today (Resident.is_aged, as a date bound)."""
    try:
        return today.replace(year=today.year - 80)
    except ValueError:  # 29 February: someone born on 29 February turns 80 on 1 March
        return today.replace(year=today.year - 80, day=28)


def visit_intervals(household_ids, cats_by_code, high_risk_days, today):
    """{household_id: days between visits the household needs (its neediest current resident), or
    None} for the households of `household_ids` (a select of ids), in ONE aggregate statement: no
    resident or category is loaded as an object. Same rule as visit_interval."""
    own = func.min(case((CareCategory.derived.is_(False), CareCategory.interval_days)))
    risky = func.max(case((CareCategory.code.in_(sorted(HIGH_RISK_AGED_WITH)), 1), else_=0))
    born_by = _aged_born_by(today)  # the community's date, not UTC's
    rows = db.session.execute(
        select(Residency.household_id, Resident.birth_date, own, risky)
        .join(Resident, Resident.id == Residency.resident_id)
        .outerjoin(resident_categories, resident_categories.c.resident_id == Resident.id)
        .outerjoin(CareCategory, CareCategory.id == resident_categories.c.category_id)
        .where(Residency.end_date.is_(None), Residency.household_id.in_(household_ids))
        .group_by(Residency.household_id, Resident.id, Resident.birth_date))
    found = {}
    for hid, birth, own_days, high_risk_with in rows:
        days = _interval(own_days, birth is not None and birth <= born_by, bool(high_risk_with), cats_by_code,
                         high_risk_days)
        if days and (found.get(hid) is None or days < found[hid]):
            found[hid] = days
        else:
            found.setdefault(hid, None)
    return found


def _household_options():
    # One statement whatever the number of households (selectin would batch by 500).
    return (
        contains_eager(Household.building),
        joinedload(Household.residencies).joinedload(Residency.resident).joinedload(Resident.categories),
    )


def household_page_options():
    """What a household's page shows, loaded with the household in a constant number of
    statements (however many residents): building, grid and community (local time), current and
    past residencies with their residents and categories."""
    return (
        joinedload(Household.building).joinedload(Building.grid).joinedload(Grid.community),
        selectinload(Household.residencies).joinedload(Residency.resident).selectinload(Resident.categories),
    )


def household_list(user, grid_ids=None, building_id=None):
    """Households in scope with building, current residents and categories: constant queries."""
    q = scope.households(user).options(*_household_options())
    if grid_ids is not None:
        q = q.where(Building.grid_id.in_(grid_ids or {-1}))
    if building_id is not None:
        q = q.where(Household.building_id == building_id)
    return db.session.scalars(q.order_by(Building.name, Household.unit, Household.room)).unique().all()


def head_of(household):
    """The head of the household (户主), or its first current resident."""
    current = household.current_residencies
    for r in current:
        if r.relation == "户主":
            return r.resident
    return current[0].resident if current else None


def grid_summaries(user, grids):
    """Each grid with its count of households below it (micro-grids included)."""
    visible = scope.grid_ids(user)
    counts = dict(db.session.execute(
        select(Building.grid_id, func.count(Household.id))
        .join(Household, Household.building_id == Building.id)
        .where(Building.grid_id.in_(visible or {-1}))
        .group_by(Building.grid_id)
    ).all())
    all_grids = db.session.execute(select(Grid.id, Grid.parent_id).where(Grid.id.in_(visible or {-1}))).all()
    children = {}
    for gid, parent in all_grids:
        children.setdefault(parent, []).append(gid)

    def total(gid):
        return counts.get(gid, 0) + sum(total(c) for c in children.get(gid, ()))

    return [(g, total(g.id)) for g in grids]


def subtree(user, grid):
    return scope._descendants(grid.community_id, [grid.id]) & scope.grid_ids(user)


def building_summaries(grid_ids):
    return db.session.execute(
        select(Building, func.count(Household.id))
        .outerjoin(Household, Household.building_id == Building.id)
        .where(Building.grid_id.in_(grid_ids or {-1}))
        .group_by(Building.id)
        .order_by(Building.name)
    ).all()


_NUM = re.compile(r"(\d+)")
_SUFFIX = ("栋", "号楼", "幢", "座")
# 1栋1单元101, 1栋101室, 12号楼2单元1001
_LABEL_CN = re.compile(r"^(?P<b>.+?(?:栋|号楼|幢|座))\s*(?:(?P<u>\d+)\s*单元)?\s*(?P<r>\d+[A-Za-z]?)?\s*[室号]?$")
# 1-1-101, 1-101 (building-unit-room, building-room)
_LABEL_DASH = re.compile(r"^(?P<b>[^\s\-－—]+?)\s*[\-－—]\s*(?:(?P<u>\d+)\s*(?:单元)?\s*[\-－—]\s*)?(?P<r>\d+[A-Za-z]?)$")


def natural_key(text):
    """Sort key that reads numbers as numbers: 101 before 1001, 2栋 before 10栋."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in _NUM.split(text or "") if part]


def _label_parts(term):
    """(building names, units or None, room or None) when the term is an address label, else None."""
    m = _LABEL_CN.match(term) or _LABEL_DASH.match(term)
    if not m:
        return None
    b = m.group("b")
    stem = b
    for suffix in _SUFFIX:
        if stem.endswith(suffix) and len(stem) > len(suffix):
            stem = stem[: -len(suffix)]
            break
    names = {b, stem} | {stem + s for s in _SUFFIX}
    unit = m.group("u")
    units = {unit, unit + "单元"} if unit else None
    return names, units, m.group("r")


def search(user, term, limit=50):
    """Households in the user's scope found the way people ask: the label as written
    (1栋1单元101, 1-1-101), street address, name, any part of a phone number (the last
    4 digits, say), room, or the pinyin initials of a resident (zs → 张三)."""
    # control characters never belong to a search (and PostgreSQL refuses NUL)
    term = " ".join("".join(ch if ch.isprintable() else " " for ch in (term or "")[:200]).split())[:100]
    if not term:
        return []
    visible = scope.households(user)  # built once: working out the scope costs queries
    ids = []
    label = _label_parts(term)
    if label:
        names, units, room = label
        q = visible.with_only_columns(Household.id).where(Building.name.in_(names))
        if units:
            q = q.where(Household.unit.in_(units))
        if room:
            q = q.where(Household.room == room)
        ids = db.session.scalars(q.limit(limit)).all()
    if not ids:
        like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        compact = term.replace(" ", "")
        people = [Resident.name.like(like, escape="\\"), Resident.phone.like(like, escape="\\")]
        if compact.isascii() and compact.isalpha():
            # a prefix range, not LIKE, so that the index on initials serves it
            prefix = compact.lower()
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            people.append((Resident.initials >= prefix) & (Resident.initials < upper))
        residents = (select(Residency.household_id)
                     .join(Resident, Resident.id == Residency.resident_id)
                     .where(Residency.end_date.is_(None), Resident.community_id == user.community_id,
                            or_(*people)))
        homes = [Household.room.like(like, escape="\\"), Household.phone.like(like, escape="\\"),
                 Building.address.like(like, escape="\\"), (Building.name + Household.room).like(like, escape="\\")]
        ids = db.session.scalars(visible.with_only_columns(Household.id)
                                 .where(or_(*homes, Household.id.in_(residents))).limit(limit)).all()
    results = []
    if ids:
        results = db.session.scalars(visible.where(Household.id.in_(ids))
                                     .options(*_household_options())).unique().all()
    return sorted(results, key=lambda h: (natural_key(h.building.name), natural_key(h.unit),
                                          natural_key(h.room)))


# ---- edits (admin) -------------------------------------------------------

def create_community(code, name):
    code = text.clean(code, _("社区编码"), 12, RegistryError)
    name = text.clean(name, _("社区名称"), 100, RegistryError, name=True)
    community = Community(code=code, name=name, settings=dict(DEFAULT_SETTINGS))
    db.session.add(community)
    db.session.flush()
    ensure_categories(community)
    return community


def save_grid(community, name, parent=None, grid=None):
    name = text.clean(name, _("网格名称"), 100, RegistryError, name=True)
    if not name:
        raise RegistryError(_("请填写网格名称。"))
    if grid is None:
        seq = 1 + (db.session.scalar(
            select(func.max(Grid.seq)).where(Grid.community_id == community.id,
                                             Grid.parent_id == (parent.id if parent else None))
            if parent else
            select(func.max(Grid.seq)).where(Grid.community_id == community.id, Grid.parent_id.is_(None))
        ) or 0)
        grid = Grid(community_id=community.id, parent_id=parent.id if parent else None, seq=seq,
                    code=Grid.make_code(community, parent, seq), name=name)
        db.session.add(grid)
    else:
        grid.name = name
    db.session.flush()
    return grid


def save_building(grid, name, address, building=None):
    name = text.clean(name, _("楼栋名称"), 50, RegistryError, name=True)
    address = text.clean(address, _("地址"), 200, RegistryError)
    if not name:
        raise RegistryError(_("请填写楼栋名称。"))
    clash = db.session.scalar(select(Building.id).where(Building.grid_id == grid.id, Building.name == name))
    if clash and (building is None or clash != building.id):
        raise RegistryError(_("该网格已有同名楼栋。"))
    if building is None:
        building = Building(grid_id=grid.id, name=name, address=address)
        db.session.add(building)
    else:
        building.grid_id, building.name, building.address = grid.id, name, address
    db.session.flush()
    return building


def parse_contacts(value):
    """'姓名,关系,电话' per line → list of dicts."""
    contacts = []
    for line in (value or "").splitlines():
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if not any(parts):
            continue
        if len(parts) != 3 or not identity.valid_phone(parts[2]):
            raise RegistryError(_("紧急联系人格式应为：姓名,关系,电话（每行一位）。"))
        contacts.append({"name": text.clean(parts[0], _("紧急联系人姓名"), 50, RegistryError, name=True),
                         "relation": text.clean(parts[1], _("与紧急联系人的关系"), 20, RegistryError),
                         "phone": parts[2]})
    if len(contacts) > 10:
        raise RegistryError(_("紧急联系人最多10位。"))
    return contacts


def save_household(building, unit, room, phone, contacts, note="", household=None):
    room = text.clean(room, _("房号"), 20, RegistryError, name=True)
    unit = text.clean(unit, _("单元"), 20, RegistryError, name=True)
    note = text.clean(note, _("备注"), 500, RegistryError, multiline=True)
    phone = (phone or "").strip()
    if not room:
        raise RegistryError(_("请填写房号。"))
    if phone and not identity.valid_phone(phone):
        raise RegistryError(_("电话号码格式不正确。"))
    clash = db.session.scalar(select(Household.id).where(
        Household.building_id == building.id, Household.unit == unit, Household.room == room))
    if clash and (household is None or clash != household.id):
        raise RegistryError(_("该楼栋已有这个房号。"))
    if household is None:
        household = Household(building_id=building.id)
        db.session.add(household)
    household.building_id, household.unit, household.room = building.id, unit, room
    household.phone = phone or None
    household.emergency_contacts = contacts
    household.note = note
    db.session.flush()
    return household


def validate_resident_fields(name, sex, birth, phone, id_number):
    """Return cleaned values or raise RegistryError with a reason in Chinese."""
    name = text.clean(name, _("姓名"), 50, RegistryError, name=True)
    if not name:
        raise RegistryError(_("请填写姓名。"))
    if sex not in ("M", "F"):
        raise RegistryError(_("性别应为男或女。"))
    phone = (phone or "").strip() if isinstance(phone, str) else None
    if phone and not identity.valid_phone(phone):
        raise RegistryError(_("电话号码格式不正确。"))
    id_number = identity.normalize_id(id_number) or None
    if id_number and not identity.valid_id(id_number):
        raise RegistryError(_("身份证号校验不通过。"))
    if id_number and birth is None:
        birth = identity.id_birth_date(id_number)
    reason = birth_date_problem(birth)
    if reason:
        raise RegistryError(reason)
    return name, sex, birth, phone or None, id_number


def save_resident(community, household, relation, name, sex, birth, phone, id_number, category_ids,
                  resident=None):
    name, sex, birth, phone, id_number = validate_resident_fields(name, sex, birth, phone, id_number)
    relation = text.clean(relation, _("与户主关系"), 20, RegistryError, name=True) or "户主"
    if id_number:  # ID numbers are unique within a community; other communities are never consulted
        clash = db.session.scalar(select(Resident.id).where(Resident.community_id == community.id,
                                                            Resident.id_number == id_number))
        if clash and (resident is None or clash != resident.id):
            raise RegistryError(_("已有居民使用这个身份证号。"))
    if resident is None:
        resident = Resident(community_id=community.id)
        db.session.add(resident)
    resident.name, resident.sex, resident.birth_date = name, sex, birth
    resident.phone, resident.id_number = phone, id_number
    cats = [c for c in categories(community.id) if c.id in set(category_ids) and not c.derived]
    resident.categories = cats
    db.session.flush()
    move_resident(resident, household, relation)
    return resident


def move_resident(resident, household, relation, on=None):
    """Link a resident to a household; an earlier link is closed, not overwritten."""
    on = on or localtime.today(db.session.get(Community, resident.community_id))
    current = resident.current_residency
    if current and current.household_id == household.id:
        current.relation = relation or current.relation
        return current
    if current:
        current.end_date = on
    link = Residency(resident=resident, household_id=household.id, relation=relation or "户主",
                     start_date=on)
    db.session.add(link)
    db.session.flush()
    return link


MAX_AGE_YEARS = 120


def birth_date_problem(birth, today=None):
    """Why a birth date cannot be right (in the future, or more than 120 years ago), or None."""
    if birth is None:
        return None
    today = today or localtime.today()  # the configured zone's date: a birth this morning is not "future"
    if birth > today:
        return _("出生日期不能晚于今天。")
    if (today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))) > MAX_AGE_YEARS:
        return _("年龄超过%(years)s岁，请核对出生日期。", years=MAX_AGE_YEARS)
    return None


def parse_date(value):
    value = (value or "").strip()
    if not value:
        return None
    for sep in ("-", "/", "."):
        parts = value.split(sep)
        if len(parts) == 3:
            try:
                return date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                return None
    if len(value) == 8 and value.isdigit():
        try:
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            return None
    return None
