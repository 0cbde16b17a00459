"""The admin's desk: counts, accounts, care categories, community settings, import jobs.

Every save audits itself here (services/audit.py), in the caller's transaction;
the request's unit of work commits. Refusals are AdminError with a Chinese reason."""
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import access
from ..extensions import db
from ..models import ROLES, Building, Grid, Household, ImportJob, Resident, User
from . import accounts, audit, identity, importer, registry, scope

# key: (lowest, highest) for the community settings an admin edits.
SETTING_RANGES = {
    "escalate_leader_minutes": (1, 1440),
    "escalate_admin_minutes": (1, 2880),
    "high_risk_days": (1, 366),
    "overdue_alert_margin_days": (0, 60),
    "checkin_grace_minutes": (5, 240),
}
OPTIONAL_SETTINGS = {"checkin_grace_minutes"}  # a form without it keeps the current value


class AdminError(ValueError):
    pass


def counts(community_id):
    cid = community_id
    return {
        "grids": db.session.scalar(select(func.count(Grid.id)).where(Grid.community_id == cid)),
        "buildings": db.session.scalar(select(func.count(Building.id)).join(Grid).where(Grid.community_id == cid)),
        "households": db.session.scalar(
            select(func.count(Household.id)).join(Building).join(Grid).where(Grid.community_id == cid)),
        "residents": db.session.scalar(select(func.count(Resident.id)).where(Resident.community_id == cid)),
        "users": db.session.scalar(select(func.count(User.id)).where(User.community_id == cid)),
    }


def grids(community_id):
    return db.session.scalars(select(Grid).where(Grid.community_id == community_id).order_by(Grid.code)).all()


def buildings(user):
    return db.session.scalars(scope.buildings(user).order_by(Building.name)).all()


def users(admin):
    return db.session.scalars(scope.users(admin).order_by(User.role, User.username)).all()


def resident_in_scope(user, resident_id):
    return db.session.scalars(scope.residents(user).where(Resident.id == resident_id)).first()


# ---- registry edits, audited ---------------------------------------------

def save_grid(actor, name, parent=None, grid=None):
    grid = registry.save_grid(actor.community, name, parent, grid=grid)
    audit.record(actor, "edit", "grid", grid.id)
    return grid


def save_building(actor, grid, name, address, building=None):
    building = registry.save_building(grid, name, address, building=building)
    audit.record(actor, "edit", "building", building.id)
    return building


def save_household(actor, building, unit, room, phone, contacts_text, note, household=None):
    household = registry.save_household(building, unit, room, phone, registry.parse_contacts(contacts_text),
                                        note, household=household)
    audit.record(actor, "edit", "household", household.id)
    return household


def save_resident(actor, household, relation, name, sex, birth_text, phone, id_number, category_ids,
                  resident=None):
    birth = registry.parse_date(birth_text)
    if (birth_text or "").strip() and birth is None:
        raise registry.RegistryError(_("出生日期无法识别。"))
    resident = registry.save_resident(actor.community, household, relation, name, sex, birth, phone, id_number,
                                      category_ids, resident=resident)
    audit.record(actor, "edit", "resident", resident.id)
    return resident


# ---- pickers --------------------------------------------------------------

def pick_households(user, term, limit=30):
    """Households for a picker: found by label, name or phone, or the first few when no term."""
    term = (term or "").strip()
    if term:
        return registry.search(user, term, limit=limit)
    return db.session.scalars(scope.households(user).order_by(Building.name, Household.unit, Household.room)
                              .limit(limit)).all()


def pick_residents(user, term, limit=30):
    term = (term or "").strip()
    q = scope.residents(user)
    if term:
        q = q.where((Resident.name.like(f"%{term}%")) | (Resident.phone.like(f"%{term}%")))
    return db.session.scalars(q.order_by(Resident.name).limit(limit)).all()


# ---- accounts ------------------------------------------------------------

def _clean_phone(phone):
    return (phone or "").strip() or None


def _phone_taken(phone, user):
    clash = db.session.scalar(select(User.id).where(User.phone == phone))
    return bool(clash) and (user is None or clash != user.id)


def save_user(actor, form, user=None, resident=None):
    """Create or edit an account from form fields; AdminError with a reason when refused."""
    role = form.get("role")
    name = (form.get("name") or "").strip()
    username = (form.get("username") or "").strip()
    phone = _clean_phone(form.get("phone"))
    password = form.get("password") or ""
    if role not in ROLES:
        raise AdminError(_("请选择角色。"))
    if not name:
        raise AdminError(_("请填写姓名。"))
    if len(name) > 50:
        raise AdminError(_("姓名太长。"))
    if phone and not identity.valid_phone(phone):
        raise AdminError(_("电话号码格式不正确。"))
    if password or user is None:
        try:
            accounts.check_password_policy(role, password)
        except accounts.AccountError as exc:
            raise AdminError(str(exc)) from exc
    if role == "resident" and resident is None:
        raise AdminError(_("居民账号请选择对应的居民。"))
    if phone and _phone_taken(phone, user):
        raise AdminError(_("手机号已被其他账号使用。"))
    grid_ids = {g.id for g in grids(actor.community_id)}
    chosen = {int(g) for g in form.getlist("grid") if str(g).isascii() and str(g).isdigit()}
    if chosen - grid_ids:
        raise AdminError(_("请选择本社区的网格。"))
    try:
        # A savepoint: two admins saving the same phone at once get the refusal, not a 500.
        with db.session.begin_nested():
            if user is None:
                if not username or len(username) > 50:
                    raise AdminError(_("请填写用户名。"))
                user = accounts.create_user(actor.community, username, name, role, password, phone=phone)
            else:
                user.name, user.role = accounts.clean_name(name), role
                accounts.set_phone(user, phone)  # no phone equal to another account's login name
                user.active = form.get("active") == "1"
                if password:
                    accounts.reset_password(actor, user, password)  # ends their sessions
            db.session.flush()
    except accounts.AccountError as exc:
        raise AdminError(str(exc)) from exc
    except IntegrityError as exc:
        raise AdminError(_("用户名或手机号已被其他账号使用。")) from exc
    user.resident_id = resident.id if role == "resident" and resident else None
    accounts.set_assignments(user, chosen if role in access.GRID_ASSIGNED else set())
    db.session.flush()
    audit.record(actor, "edit", "user", user.id)
    return user


# ---- care categories and community settings ---------------------------------

def save_categories(actor, form):
    """Visit interval (days) and risk level of every category of the admin's community."""
    cats = registry.categories(actor.community_id)
    changes = []
    for c in cats:
        days = form.get(f"days_{c.id}", "")
        level = form.get(f"level_{c.id}")
        if not (str(days).strip().isascii() and str(days).strip().isdigit()) or not 1 <= int(days) <= 366:
            raise AdminError(_("%(name)s：走访周期应为1到366天。", name=c.name))
        if level not in registry.RISK_LEVELS:
            raise AdminError(_("%(name)s：请选择风险等级。", name=c.name))
        changes.append((c, int(days), level))
    for c, days, level in changes:
        c.interval_days, c.level = days, level
    db.session.flush()
    audit.record(actor, "edit", "categories", None)
    return cats


def settings_values(community):
    return {k: community.setting(k, registry.DEFAULT_SETTINGS[k]) for k in SETTING_RANGES}


def save_settings(actor, form):
    """Escalation minutes and the high-risk rhythm; an admin rung after the leader's."""
    values = {}
    for key, (low, high) in SETTING_RANGES.items():
        raw = (form.get(key) or "").strip()
        if not raw and key in OPTIONAL_SETTINGS:
            continue
        if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
            raise AdminError(_("%(field)s应为%(low)s到%(high)s之间的整数。", field=setting_label(key),
                               low=low, high=high))
        values[key] = int(raw)
    if values["escalate_admin_minutes"] <= values["escalate_leader_minutes"]:
        raise AdminError(_("上报社区管理员的时间应晚于上报网格长的时间。"))
    community = actor.community
    community.settings = dict(community.settings or {}, **values)
    db.session.flush()
    audit.record(actor, "edit", "settings", community.id, ", ".join(f"{k}={v}" for k, v in values.items()))
    return values


def setting_label(key):
    return {
        "escalate_leader_minutes": _("无人响应多少分钟后上报网格长"),
        "escalate_admin_minutes": _("无人响应多少分钟后上报社区管理员"),
        "high_risk_days": _("高龄独居等高风险老人走访周期（天）"),
        "overdue_alert_margin_days": _("逾期多少天后提醒"),
        "checkin_grace_minutes": _("平安打卡超时多少分钟后通知网格员"),
    }[key]


# ---- import jobs ---------------------------------------------------------

def import_job(community_id, token):
    """The community's import job with this token, or None."""
    return db.session.scalar(select(ImportJob).where(ImportJob.token == token,
                                                     ImportJob.community_id == community_id))


def export_households(actor, fmt):
    """The households export (one row per current resident), audited."""
    audit.record(actor, "export", "households", None, fmt)
    return importer.export_rows(actor.community_id)


def open_resident_form(actor, resident):
    """The resident form shows the full ID number: that is access to sensitive data, audited."""
    audit.record(actor, "view_id", "resident", resident.id)
    return resident
