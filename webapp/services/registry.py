"""Registry rules: listing with eager loading, search, care labels, edits with history."""
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import contains_eager, joinedload

from ..extensions import db
from ..models.registry import RISK_LEVELS  # noqa: F401  (re-exported for the admin form)
from ..models import (AuditEntry, Building, CareCategory, Community, Grid, Household, Residency,
                      Resident)
from . import identity, scope
from .clock import utcnow

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
    days = [c.interval_days for c in resident.categories if not c.derived]
    codes = {c.code for c in resident.categories}
    if resident.is_aged and "aged" in cats_by_code:
        days.append(cats_by_code["aged"].interval_days)
        if codes & HIGH_RISK_AGED_WITH:
            days.append(high_risk_days)
    return min(days) if days else None


def _household_options():
    # One statement whatever the number of households (selectin would batch by 500).
    return (
        contains_eager(Household.building),
        joinedload(Household.residencies).joinedload(Residency.resident).joinedload(Resident.categories),
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


def search(user, term, limit=50):
    term = (term or "").strip()
    if not term:
        return []
    like = f"%{term}%"
    q = (
        scope.households(user)
        .outerjoin(Residency, (Residency.household_id == Household.id) & Residency.end_date.is_(None))
        .outerjoin(Resident, Resident.id == Residency.resident_id)
        .where(or_(Resident.name.like(like), Household.room.like(like), Household.phone.like(like),
                   Resident.phone.like(like), (Building.name + Household.room).like(like)))
        .options(*_household_options())
        .order_by(Building.name, Household.room)
        .limit(limit)
    )
    return db.session.scalars(q).unique().all()


def audit(user, action, target, detail=""):
    db.session.add(AuditEntry(user_id=user.id if user else None, action=action, target=target,
                              detail=detail[:500]))


# ---- edits (admin) -------------------------------------------------------

def create_community(code, name):
    community = Community(code=code, name=name, settings=dict(DEFAULT_SETTINGS))
    db.session.add(community)
    db.session.flush()
    ensure_categories(community)
    return community


def save_grid(community, name, parent=None, grid=None):
    name = (name or "").strip()
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
    name = (name or "").strip()
    if not name:
        raise RegistryError(_("请填写楼栋名称。"))
    clash = db.session.scalar(select(Building.id).where(Building.grid_id == grid.id, Building.name == name))
    if clash and (building is None or clash != building.id):
        raise RegistryError(_("该网格已有同名楼栋。"))
    if building is None:
        building = Building(grid_id=grid.id, name=name, address=(address or "").strip())
        db.session.add(building)
    else:
        building.grid_id, building.name, building.address = grid.id, name, (address or "").strip()
    db.session.flush()
    return building


def parse_contacts(text):
    """'姓名,关系,电话' per line → list of dicts."""
    contacts = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if not any(parts):
            continue
        if len(parts) != 3 or not identity.valid_phone(parts[2]):
            raise RegistryError(_("紧急联系人格式应为：姓名,关系,电话（每行一位）。"))
        contacts.append({"name": parts[0], "relation": parts[1], "phone": parts[2]})
    return contacts


def save_household(building, unit, room, phone, contacts, note="", household=None):
    room = (room or "").strip()
    unit = (unit or "").strip()
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
    household.note = note or ""
    db.session.flush()
    return household


def validate_resident_fields(name, sex, birth, phone, id_number):
    """Return cleaned values or raise RegistryError with a reason in Chinese."""
    name = (name or "").strip()
    if not name:
        raise RegistryError(_("请填写姓名。"))
    if sex not in ("M", "F"):
        raise RegistryError(_("性别应为男或女。"))
    if phone and not identity.valid_phone(phone):
        raise RegistryError(_("电话号码格式不正确。"))
    id_number = identity.normalize_id(id_number) or None
    if id_number and not identity.valid_id(id_number):
        raise RegistryError(_("身份证号校验不通过。"))
    if id_number and birth is None:
        birth = identity.id_birth_date(id_number)
    return name, sex, birth, phone or None, id_number


def save_resident(community, household, relation, name, sex, birth, phone, id_number, category_ids,
                  resident=None):
    name, sex, birth, phone, id_number = validate_resident_fields(name, sex, birth, phone, id_number)
    if id_number:
        clash = db.session.scalar(select(Resident.id).where(Resident.id_number == id_number))
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
    on = on or utcnow().date()
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
