"""Residents on Linli: invitations from their grid worker, joining, and their home page."""
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select, update

from ..extensions import db
from ..models import Household, Invitation, User
from . import accounts, alerts, identity, scope
from ..clock import utcnow

INVITE_HOURS = 72
# Unambiguous (no 0/O, 1/I/L): 31**12 ≈ 7.9e17 codes. The QR carries the code, so length
# costs the resident nothing; /join is also throttled per address and globally.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


def new_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


USERNAME_DIGITS = 10


def new_username():
    """A resident's login name: "r" and ten random digits (10**10 names), easy to type on a phone
    keypad and shown grouped ("r 3849 2017 56", see login_name), never derived from the record, so
    one resident's login name says nothing of another's. Accounts made before keep theirs."""
    while True:
        name = "r" + "".join(secrets.choice("0123456789") for _ in range(USERNAME_DIGITS))
        if not accounts.login_name_taken(name):
            return name


def login_name(user):
    """The login name as shown to the resident: in groups of four digits (login ignores spaces)."""
    name = user.username or ""
    if name[:1] == "r" and name[1:].isdigit() and len(name) == USERNAME_DIGITS + 1:
        digits = name[1:]
        return " ".join(["r"] + [digits[i:i + 4] for i in range(0, len(digits), 4)])
    return name


def invite(worker, resident):
    """A one-time code, valid for three days."""
    db.session.execute(Invitation.__table__.update().where(
        Invitation.resident_id == resident.id, Invitation.used_at.is_(None)).values(expires_at=utcnow()))
    while True:
        code = new_code()
        if not db.session.scalar(select(Invitation.id).where(Invitation.code == code)):
            break
    invitation = Invitation(code=code, resident_id=resident.id, created_by=worker.id,
                            expires_at=utcnow() + timedelta(hours=INVITE_HOURS))
    db.session.add(invitation)
    db.session.flush()
    return invitation


def join(code, phone, password):
    """Create the resident's account from a valid code; the code is then spent.

    The code is claimed first, by one conditional UPDATE: of any number of joins with
    one code at once, exactly one claims it and the others are told it is used (on
    SQLite the UPDATE is the transaction's first statement, so it waits for the write
    lock instead of failing on a stale snapshot)."""
    code = (code or "").strip().upper().replace(" ", "").replace("-", "")[:CODE_LENGTH] \
        if isinstance(code, str) else ""
    phone = (phone or "").strip() if isinstance(phone, str) else ""
    if len(password or "") < 6:
        raise accounts.AccountError(_("密码至少6位。"))
    if phone and not identity.valid_mobile(phone):
        raise accounts.AccountError(_("手机号格式不正确，请填写11位手机号。"))
    invalid = _("邀请码无效或已过期，请联系您的网格员重新获取。")
    if not code or len(code) > 64:
        raise accounts.AccountError(invalid)
    now = utcnow()
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.code == code, Invitation.used_at.is_(None), Invitation.expires_at >= now)
        .values(used_at=now).returning(Invitation.id)).scalar()
    if claimed is None:
        raise accounts.AccountError(invalid)
    invitation = db.session.get(Invitation, claimed)
    resident = invitation.resident
    if db.session.scalar(select(User.id).where(User.resident_id == resident.id)):
        raise accounts.AccountError(_("这位居民已经有账号了，请直接登录。"))
    community = db.session.get(accounts.User, invitation.created_by).community
    user = accounts.create_user(community, new_username(), resident.name, "resident", password,
                                phone=phone or None, resident=resident)
    db.session.flush()
    return user


def home(user):
    """What a resident's page shows: their household, their grid workers, their alerts."""
    hid = scope.own_household_id(user)
    household = db.session.get(Household, hid) if hid else None
    workers = []
    if household is not None:  # the same people an alert from this household goes to first
        workers = db.session.scalars(
            select(User).where(User.id.in_(alerts.responders(household, 0))).order_by(User.id)).all()
    recent = db.session.scalars(alerts.visible(user).where(alerts.Alert.source == "sos")
                                .order_by(alerts.Alert.id.desc()).limit(3)).all()
    return household, workers, recent



# What each audited act means to the resident it concerns, in plain words.
VIEWER_ACTIONS = ("view", "view_id", "view_visits", "edit", "invite", "print")
# acts about a whole grid or community that hold the resident's household
AREA_ACTIONS = ("print", "prepare_offline")


def viewers(user, limit=100):
    """Who opened this resident's record (PIPL Art. 44-45): staff who viewed, printed or edited their
    household, their visits or their full record, printed the list of a grid holding the household,
    or kept that grid (or the whole community) on their phone for offline use, newest first. Only
    names, roles and times of staff; never other residents' data (their own household members' views
    of the household are not listed: residents are left out altogether). Each row: at, action (what
    the template says: "print_grid" for a grid's list), name, role."""
    from types import SimpleNamespace
    from sqlalchemy import and_, or_
    from ..models import AuditEntry, Grid
    if user.role != "resident" or not user.resident_id:
        return []
    targets = [f"resident:{user.resident_id}"]
    areas = [f"community:{user.community_id}"]
    hid = scope.own_household_id(user)
    if hid:
        targets.append(f"household:{hid}")
        household = db.session.get(Household, hid)
        grid_id = household.building.grid_id
        while grid_id is not None:  # the household's grid and the grids above it
            areas.append(f"grid:{grid_id}")
            grid_id = db.session.scalar(select(Grid.parent_id).where(Grid.id == grid_id))
    rows = db.session.execute(
        select(AuditEntry.at, AuditEntry.action, AuditEntry.target, User.name, User.role)
        .join(User, User.id == AuditEntry.user_id)
        .where(or_(and_(AuditEntry.target.in_(targets), AuditEntry.action.in_(VIEWER_ACTIONS)),
                   and_(AuditEntry.target.in_(areas), AuditEntry.action.in_(AREA_ACTIONS))),
               User.role != "resident", User.community_id == user.community_id)
        .order_by(AuditEntry.id.desc()).limit(limit)).all()
    return [SimpleNamespace(at=at, name=name, role=role, target=target,
                            action="print_grid" if action == "print" and target in areas else action)
            for at, action, target, name, role in rows]
