"""Users: authentication with throttling, creation, sessions."""
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select

from ..extensions import db
from ..models import AuditEntry, GridAssignment, LoginFailure, User
from .clock import utcnow


class AccountError(ValueError):
    pass


def _recent_failures(column, value):
    since = utcnow() - timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
    return db.session.scalar(
        select(func.count(LoginFailure.id)).where(column == value, LoginFailure.at >= since)
    )


def authenticate(login, password, address):
    """Return the user for a username or phone and password, or raise AccountError."""
    login = (login or "").strip()
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    if _recent_failures(LoginFailure.login, login) >= limit or \
            _recent_failures(LoginFailure.address, address) >= limit * 4:
        raise AccountError(_("登录失败次数过多，请%(minutes)s分钟后再试。",
                             minutes=current_app.config["LOGIN_LOCK_MINUTES"]))
    user = db.session.scalar(select(User).where(or_(User.username == login, User.phone == login)))
    if user is None or not user.active or not user.check_password(password or ""):
        db.session.add(LoginFailure(login=login[:50], address=address[:64]))
        db.session.commit()
        raise AccountError(_("用户名或密码不正确。"))
    db.session.execute(delete(LoginFailure).where(LoginFailure.login == login))
    db.session.add(AuditEntry(user_id=user.id, action="login", target=f"user:{user.id}"))
    db.session.commit()
    return user


def end_sessions(user):
    """Logging out ends every session of this user, remember-me cookies included."""
    user.session_token = secrets.token_hex(8)
    db.session.add(AuditEntry(user_id=user.id, action="logout", target=f"user:{user.id}"))
    db.session.commit()


def create_user(community, username, name, role, password, phone=None, grids=(), resident=None,
                password_hash=None):
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise AccountError(_("用户名已存在。"))
    if phone and db.session.scalar(select(User.id).where(User.phone == phone)):
        raise AccountError(_("手机号已被其他账号使用。"))
    user = User(community_id=community.id, username=username, name=name, role=role,
                phone=phone or None, resident_id=resident.id if resident else None)
    if password_hash:
        user.password_hash = password_hash
    else:
        user.set_password(password)
    user.assignments = [GridAssignment(grid_id=g.id) for g in grids]
    db.session.add(user)
    db.session.flush()
    return user


def set_assignments(user, grid_ids):
    user.assignments = [a for a in user.assignments if a.grid_id in grid_ids]
    have = {a.grid_id for a in user.assignments}
    for gid in grid_ids:
        if gid not in have:
            user.assignments.append(GridAssignment(grid_id=gid))
