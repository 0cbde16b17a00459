"""Community → grid (→ micro-grid) → building → household → resident."""
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import relationship, validates

from ..extensions import db

RISK_LEVELS = ("high", "key", "general")


def _held_community(community_id):
    """The community, held by the session for as long as it lives: a page that asks hundreds of
    residents their age loads it once (the identity map alone holds objects weakly)."""
    held = db.session.info.setdefault("held_communities", {})
    community = held.get(community_id)
    if community is None or community not in db.session:
        community = held[community_id] = db.session.get(Community, community_id)
    return community


class Community(db.Model):
    __tablename__ = "community"
    id = sa.Column(sa.Integer, primary_key=True)
    # 6 district + 3 street + 3 community digits (Beijing style).
    code = sa.Column(sa.String(12), unique=True, nullable=False)
    name = sa.Column(sa.String(100), nullable=False)
    # Escalation ladder and margins, editable per community.
    settings = sa.Column(sa.JSON, nullable=False, default=dict)

    # loaded when asked for, not with every community (each request loads the user's community)
    grids = relationship("Grid", back_populates="community")

    def setting(self, key, default=None):
        return (self.settings or {}).get(key, default)


class Grid(db.Model):
    __tablename__ = "grid"
    id = sa.Column(sa.Integer, primary_key=True)
    community_id = sa.Column(sa.ForeignKey("community.id"), nullable=False, index=True)
    parent_id = sa.Column(sa.ForeignKey("grid.id"), index=True)
    seq = sa.Column(sa.Integer, nullable=False)
    # community code + grid sequence (3 digits), micro-grids add 2 more.
    code = sa.Column(sa.String(20), unique=True, nullable=False)
    name = sa.Column(sa.String(100), nullable=False)

    community = relationship("Community", back_populates="grids")
    parent = relationship("Grid", remote_side=[id], backref="children")
    buildings = relationship("Building", back_populates="grid", order_by="Building.id")

    @property
    def level(self):
        return 1 if self.parent_id is None else 2

    @staticmethod
    def make_code(community, parent, seq):
        if parent is None:
            return f"{community.code}{seq:03d}"
        return f"{parent.code}{seq:02d}"


class Building(db.Model):
    __tablename__ = "building"
    id = sa.Column(sa.Integer, primary_key=True)
    grid_id = sa.Column(sa.ForeignKey("grid.id"), nullable=False, index=True)
    name = sa.Column(sa.String(50), nullable=False)
    address = sa.Column(sa.String(200), nullable=False, default="")

    grid = relationship("Grid", back_populates="buildings")
    households = relationship("Household", back_populates="building")

    __table_args__ = (sa.UniqueConstraint("grid_id", "name", name="uq_building_grid_name"),)


class Household(db.Model):
    __tablename__ = "household"
    id = sa.Column(sa.Integer, primary_key=True)
    building_id = sa.Column(sa.ForeignKey("building.id"), nullable=False, index=True)
    unit = sa.Column(sa.String(20), nullable=False, default="")
    room = sa.Column(sa.String(20), nullable=False)
    phone = sa.Column(sa.String(20))
    # [{"name": ..., "relation": ..., "phone": ...}]
    emergency_contacts = sa.Column(sa.JSON, nullable=False, default=list)
    note = sa.Column(sa.String(500), nullable=False, default="")

    building = relationship("Building", back_populates="households")
    residencies = relationship("Residency", back_populates="household")

    __table_args__ = (
        sa.UniqueConstraint("building_id", "unit", "room", name="uq_household_address"),
    )

    @property
    def label(self):
        unit = f"{self.unit}单元" if self.unit else ""
        return f"{self.building.name}{unit}{self.room}"

    @property
    def current_residencies(self):
        return [r for r in self.residencies if r.end_date is None]


def name_initials(name):
    """Pinyin initials of a name, lower case (张三 → zs), for search; other letters kept as typed."""
    from pypinyin import Style, lazy_pinyin
    letters = lazy_pinyin(name or "", style=Style.FIRST_LETTER, errors=lambda chars: list(chars))
    return "".join(letters).lower().replace(" ", "")[:50]


def _initials_default(context):
    # Column default: covers bulk inserts (import, demo seed) that bypass the ORM.
    return name_initials(context.get_current_parameters().get("name"))


resident_categories = sa.Table(
    "resident_category",
    db.metadata,
    sa.Column("resident_id", sa.ForeignKey("resident.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("category_id", sa.ForeignKey("care_category.id", ondelete="CASCADE"), primary_key=True),
    # the dashboards start from a community's few categories (h13_1)
    sa.Index("ix_resident_category_category_id", "category_id"),
)


class Resident(db.Model):
    __tablename__ = "resident"
    id = sa.Column(sa.Integer, primary_key=True)
    community_id = sa.Column(sa.ForeignKey("community.id"), nullable=False, index=True)
    name = sa.Column(sa.String(50), nullable=False)
    # Derived from the name (张三 → zs) so that search finds people by pinyin initials.
    initials = sa.Column(sa.String(50), nullable=False, default=_initials_default, server_default="",
                         index=True)
    sex = sa.Column(sa.String(1), nullable=False)  # 'M' or 'F'
    birth_date = sa.Column(sa.Date)
    phone = sa.Column(sa.String(20))
    # Unique within a community only: one community's registry never reveals or touches another's.
    id_number = sa.Column(sa.String(18))

    categories = relationship("CareCategory", secondary=resident_categories, lazy="selectin")
    residencies = relationship("Residency", back_populates="resident", order_by="Residency.start_date")

    __table_args__ = (sa.UniqueConstraint("community_id", "id_number", name="uq_resident_community_id_number"),)

    @validates("name")
    def _set_initials(self, _key, name):
        self.initials = name_initials(name)
        return name

    def age(self, today=None):
        if not self.birth_date:
            return None
        if today is None:  # the community's date: at 04:00 in Beijing it is still yesterday in UTC
            from .. import localtime
            today = localtime.today(_held_community(self.community_id))
        b = self.birth_date
        return today.year - b.year - ((today.month, today.day) < (b.month, b.day))

    @property
    def is_aged(self):
        age = self.age()
        return age is not None and age >= 80

    @property
    def current_residency(self):
        for r in self.residencies:
            if r.end_date is None:
                return r
        return None


class Residency(db.Model):
    """A resident's link to a household, with history: people move."""
    __tablename__ = "residency"
    id = sa.Column(sa.Integer, primary_key=True)
    resident_id = sa.Column(sa.ForeignKey("resident.id"), nullable=False, index=True)
    household_id = sa.Column(sa.ForeignKey("household.id"), nullable=False, index=True)
    relation = sa.Column(sa.String(20), nullable=False, default="户主")
    start_date = sa.Column(sa.Date, nullable=False, default=date.today)
    end_date = sa.Column(sa.Date)

    resident = relationship("Resident", back_populates="residencies")
    household = relationship("Household", back_populates="residencies")


class CareCategory(db.Model):
    """重点人群 category with its visit interval, editable per community."""
    __tablename__ = "care_category"
    id = sa.Column(sa.Integer, primary_key=True)
    community_id = sa.Column(sa.ForeignKey("community.id"), nullable=False, index=True)
    code = sa.Column(sa.String(30), nullable=False)
    name = sa.Column(sa.String(30), nullable=False)
    level = sa.Column(sa.String(10), nullable=False, default="general")
    interval_days = sa.Column(sa.Integer, nullable=False, default=90)
    derived = sa.Column(sa.Boolean, nullable=False, default=False)  # 高龄 comes from the birth date

    __table_args__ = (sa.UniqueConstraint("community_id", "code", name="uq_category_code"),)
