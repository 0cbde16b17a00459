"""Users: authentication with throttling, creation, sessions."""
import os
import re
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import GridAssignment, User
from ..clock import utcnow
from . import audit, identity, text, throttle

# Login names: a username or a phone number, one namespace (login accepts either).
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,49}$")


class AccountError(ValueError):
    pass


_COMMON = None


def _common_passwords():
    global _COMMON
    if _COMMON is None:
        with open(os.path.join(os.path.dirname(__file__), "common_passwords.txt"), encoding="utf-8") as f:
            _COMMON = {line.strip().lower() for line in f if line.strip()}
    return _COMMON


def check_password_policy(role, password):
    """Staff: at least STAFF_PASSWORD_MIN characters and not a common password. Residents: 6."""
    password = password or ""
    if role == "resident":
        if len(password) < 6:
            raise AccountError(_("密码至少6位。"))
        return
    minimum = current_app.config["STAFF_PASSWORD_MIN"]
    if len(password) < minimum:
        raise AccountError(_("工作人员的密码至少%(n)s位。", n=minimum))
    if password.lower() in _common_passwords() or len(set(password)) < 4:
        raise AccountError(_("这个密码太常见，容易被猜到，请换一个。"))


# Checked when the login names nobody, so an unknown login costs as long as a known one.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="linli-device")


def device_token(user):
    """A signed cookie value saying 'this browser signed in as user before'."""
    return _serializer().dumps({"u": user.id, "n": secrets.token_hex(8)})


def _device_nonce(token, user):
    if not token or user is None:
        return None
    try:
        data = _serializer().loads(token, max_age=400 * 24 * 3600)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("u") != user.id:
        return None
    return str(data.get("n"))[:32]


def _find(login):
    if not login:
        return None
    return db.session.scalar(select(User).where(or_(User.username == login, User.phone == login)))


def authenticate(login, password, address, device=None):
    """Return the user for a username or phone and password (or a one-time reset code),
    or raise AccountError.

    Before any password is checked the attempt takes its place, atomically, in the
    per-address limits (generous: offices behind one NAT) and the per-account limits
    (strict, with back-off; username and phone are one account). A browser that signed in
    to this account before (`device`, a signed cookie) has its own account budget, so a
    stranger's guesses cannot lock the owner out. Every failure is audited and stays there."""
    login = "".join((login or "").split())[:100]  # a login name or phone never holds a space: "r 3849 2017 56"
    user = _find(login)
    account_key = f"user:{user.id}" if user is not None else f"name:{login.lower()}"
    nonce = _device_nonce(device, user)
    if nonce:
        account_key += f":device:{nonce}"
    wait = throttle.hit("LOGIN_ADDRESS_LIMITS", address) or throttle.hit("LOGIN_ACCOUNT_LIMITS", account_key)
    if wait:
        audit.record(user, "login_failed", "user", user.id if user else None,
                     "throttled" if user else f"throttled: {login[:50]}", durable=True)
        raise AccountError(_("登录失败次数过多，请%(minutes)s分钟后再试。", minutes=throttle.minutes(wait)))
    ok = check_password_hash(user.password_hash if user is not None else _DUMMY_HASH, password or "")
    by_code = False
    if not ok and user is not None and user.reset_code_hash and user.reset_code_expires \
            and user.reset_code_expires > utcnow():
        by_code = ok = check_password_hash(user.reset_code_hash, (password or "").strip().upper())
    if user is None or not user.active or not ok:
        audit.record(user, "login_failed", "user", user.id if user else None,
                     "" if user else login[:50], durable=True)
        raise AccountError(_("用户名或密码不正确。"))
    if by_code:
        user.reset_code_hash = None
        user.reset_code_expires = None
        user.must_change_password = True
    audit.record(user, "login", "user", user.id, "reset code" if by_code else "")
    return user


def unlock(admin, user):
    """Clear the account's login limits (all its devices share the plain account key)."""
    throttle.clear("LOGIN_ACCOUNT_LIMITS", f"user:{user.id}")
    for key in filter(None, (user.username, user.phone)):
        throttle.clear("LOGIN_ACCOUNT_LIMITS", f"name:{key.lower()}")
    audit.record(admin, "unlock", "user", user.id)


RESET_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def issue_reset_code(admin, user):
    """A one-time code the admin reads out to the user; shown once, stored hashed. The user
    signs in with it and must choose a new password. Ends the user's sessions."""
    code = "".join(secrets.choice(RESET_ALPHABET) for _ in range(10))
    user.reset_code_hash = generate_password_hash(code)
    user.reset_code_expires = utcnow() + timedelta(hours=current_app.config["RESET_CODE_HOURS"])
    user.session_token = secrets.token_hex(16)
    unlock(admin, user)
    audit.record(admin, "reset_code", "user", user.id)
    db.session.flush()
    return code


def reset_password(admin, user, password):
    """An admin sets a new password: the user's sessions end."""
    check_password_policy(user.role, password)
    user.set_password(password)
    user.session_token = secrets.token_hex(16)
    audit.record(admin, "reset_password", "user", user.id)


def change_password(user, current, new, *, need_current=True):
    """The user changes their own password; their other sessions end (the caller logs this
    one in again with the new token)."""
    if need_current:
        # a session left open on a shared phone must not become a way to guess the password
        wait = throttle.hit("PASSWORD_CHANGE_LIMITS", f"user:{user.id}")
        if wait:
            raise AccountError(_("尝试次数过多，请%(minutes)s分钟后再试。", minutes=throttle.minutes(wait)))
        if not user.check_password(current or ""):
            raise AccountError(_("当前密码不正确。"))
    check_password_policy(user.role, new)
    if user.check_password(new):
        raise AccountError(_("新密码不能和原密码相同。"))
    user.set_password(new)
    user.must_change_password = False
    user.session_token = secrets.token_hex(16)
    audit.record(user, "change_password", "user", user.id)
    db.session.flush()


def end_sessions(user):
    """Logging out ends every session of this user, remember-me cookies included."""
    user.session_token = secrets.token_hex(16)
    audit.record(user, "logout", "user", user.id)
    db.session.flush()


def login_name_taken(value, except_user=None):
    """True when some other account logs in with this value, as its username or its phone."""
    q = select(User.id).where(or_(User.username == value, User.phone == value))
    if except_user is not None and except_user.id is not None:
        q = q.where(User.id != except_user.id)
    return db.session.scalar(q.limit(1)) is not None


def clean_phone(phone, user=None):
    """A staff or resident phone: well formed, and nobody else's login name. None when empty."""
    phone = (phone or "").strip() if isinstance(phone, str) else ""
    if not phone:
        return None
    if not identity.valid_phone(phone):
        raise AccountError(_("手机号格式不正确。"))
    if login_name_taken(phone, user):
        raise AccountError(_("手机号已被其他账号使用。"))
    return phone


def clean_name(name):
    name = text.clean(name, _("姓名"), 50, AccountError, name=True)
    if not name:
        raise AccountError(_("请填写姓名。"))
    return name


def set_phone(user, phone):
    user.phone = clean_phone(phone, user)


def create_user(community, username, name, role, password, phone=None, grids=(), resident=None,
                password_hash=None):
    username = (username or "").strip() if isinstance(username, str) else ""
    if not USERNAME_RE.match(username):
        raise AccountError(_("用户名应为2到50位字母、数字或 _ . @ -。"))
    name = clean_name(name)
    if login_name_taken(username):
        raise AccountError(_("用户名已存在。"))
    phone = clean_phone(phone)
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
