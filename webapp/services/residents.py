"""Residents on Linli: invitations from their grid worker, joining, and their home page."""
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..models import Household, Invitation, User
from . import accounts, alerts, scope
from .clock import utcnow

INVITE_HOURS = 72


def invite(worker, resident):
    """A one-time code, valid for three days."""
    db.session.execute(Invitation.__table__.update().where(
        Invitation.resident_id == resident.id, Invitation.used_at.is_(None)).values(expires_at=utcnow()))
    while True:
        code = f"{secrets.randbelow(10 ** 8):08d}"
        if not db.session.scalar(select(Invitation.id).where(Invitation.code == code)):
            break
    invitation = Invitation(code=code, resident_id=resident.id, created_by=worker.id,
                            expires_at=utcnow() + timedelta(hours=INVITE_HOURS))
    db.session.add(invitation)
    db.session.commit()
    return invitation


def join(code, phone, password):
    """Create the resident's account from a valid code; the code is then spent."""
    code = (code or "").strip()
    invitation = db.session.scalar(select(Invitation).where(Invitation.code == code).with_for_update()) \
        if db.engine.dialect.name == "postgresql" else \
        db.session.scalar(select(Invitation).where(Invitation.code == code))
    if invitation is None or invitation.used_at is not None or invitation.expires_at < utcnow():
        raise accounts.AccountError(_("邀请码无效或已过期，请联系您的网格员重新获取。"))
    if len(password or "") < 6:
        raise accounts.AccountError(_("密码至少6位。"))
    resident = invitation.resident
    if db.session.scalar(select(User.id).where(User.resident_id == resident.id)):
        raise accounts.AccountError(_("这位居民已经有账号了，请直接登录。"))
    community = db.session.get(accounts.User, invitation.created_by).community
    user = accounts.create_user(community, f"r{resident.id}", resident.name, "resident", password,
                                phone=(phone or "").strip() or None, resident=resident)
    invitation.used_at = utcnow()
    db.session.commit()
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

