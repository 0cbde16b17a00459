"""Users, their roles and the grids they are assigned to."""
import secrets

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import relationship
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..clock import utcnow

ROLES = ("admin", "leader", "worker", "volunteer", "resident")


class User(UserMixin, db.Model):
    __tablename__ = "user_account"
    id = sa.Column(sa.Integer, primary_key=True)
    community_id = sa.Column(sa.ForeignKey("community.id"), nullable=False, index=True)
    username = sa.Column(sa.String(50), unique=True, nullable=False)
    phone = sa.Column(sa.String(20), unique=True)
    name = sa.Column(sa.String(50), nullable=False)
    role = sa.Column(sa.String(12), nullable=False)
    password_hash = sa.Column(sa.String(256), nullable=False)
    resident_id = sa.Column(sa.ForeignKey("resident.id"))
    active = sa.Column(sa.Boolean, nullable=False, default=True)
    locale = sa.Column(sa.String(10))
    # Random from creation; renewed on logout and on a password change or reset, so old
    # sessions and remember-me cookies stop working.
    session_token = sa.Column(sa.String(32), nullable=False, default=lambda: secrets.token_hex(16))
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)
    password_changed_at = sa.Column(sa.DateTime)
    # Set by an admin's one-time reset code: the next login must choose a new password.
    must_change_password = sa.Column(sa.Boolean, nullable=False, default=False)
    reset_code_hash = sa.Column(sa.String(256))
    reset_code_expires = sa.Column(sa.DateTime)

    community = relationship("Community")
    resident = relationship("Resident")
    assignments = relationship("GridAssignment", back_populates="user", cascade="all, delete-orphan")

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)
        self.password_changed_at = utcnow()

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    def get_id(self):
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self):
        return self.active


class GridAssignment(db.Model):
    __tablename__ = "grid_assignment"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    grid_id = sa.Column(sa.ForeignKey("grid.id"), nullable=False, index=True)

    user = relationship("User", back_populates="assignments")
    grid = relationship("Grid")

    __table_args__ = (sa.UniqueConstraint("user_id", "grid_id", name="uq_assignment"),)


class LoginFailure(db.Model):
    """Failed logins, for throttling by account name and by address."""
    __tablename__ = "login_failure"
    id = sa.Column(sa.Integer, primary_key=True)
    login = sa.Column(sa.String(50), nullable=False, index=True)
    address = sa.Column(sa.String(64), nullable=False, index=True)
    at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)


ABSENCE_KINDS = ("leave", "sick", "other")  # 请假, 病假, 其他


class Absence(db.Model):
    """A worker or leader away (请假/病假) from start_date to end_date, both included, in the
    community's local dates. Away people are not told of alerts; their grids may be uncovered."""
    __tablename__ = "absence"
    id = sa.Column(sa.Integer, primary_key=True)
    user_id = sa.Column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = sa.Column(sa.String(10), nullable=False, default="leave")
    start_date = sa.Column(sa.Date, nullable=False)
    end_date = sa.Column(sa.Date, nullable=False)
    note = sa.Column(sa.String(200), nullable=False, default="")
    created_by = sa.Column(sa.ForeignKey("user_account.id"))
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)

    user = relationship("User", foreign_keys=[user_id])

    __table_args__ = (sa.CheckConstraint("end_date >= start_date", name="dates"),)
