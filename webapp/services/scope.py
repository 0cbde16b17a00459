"""Data scope, in one place: which grids and households a user may see.

- admin: their whole community
- leader: their grids and every micro-grid below
- worker: the grids assigned to them (and micro-grids below)
- volunteer: nothing of the registry
- resident: their own household only

Every registry query goes through here. Pure queries, usable from jobs and CLI commands;
the web layer (web/lookups.py) answers 404 outside them.
"""
from sqlalchemy import select

from ..extensions import db
from ..access import GRID_ASSIGNED
from ..models import Building, Grid, GridAssignment, Household, Residency, Resident, User


def _descendants(community_id, roots):
    grids = db.session.execute(
        select(Grid.id, Grid.parent_id).where(Grid.community_id == community_id)
    ).all()
    return _subtrees(grids, roots)


def _subtrees(grids, roots):
    children = {}
    for gid, parent, *_rest in grids:
        children.setdefault(parent, []).append(gid)
    seen, stack = set(), list(roots)
    while stack:
        gid = stack.pop()
        if gid in seen:
            continue
        seen.add(gid)
        stack.extend(children.get(gid, ()))
    return seen


def grid_ids(user):
    """The ids of every grid whose households the user may see."""
    if not user or not user.is_authenticated:
        return set()
    if user.role == "admin":
        return set(db.session.scalars(select(Grid.id).where(Grid.community_id == user.community_id)))
    if user.role in GRID_ASSIGNED:
        # one query: the community's grid tree, marked where the user is assigned
        rows = db.session.execute(
            select(Grid.id, Grid.parent_id, GridAssignment.id)
            .outerjoin(GridAssignment, (GridAssignment.grid_id == Grid.id) & (GridAssignment.user_id == user.id))
            .where(Grid.community_id == user.community_id)).all()
        return _subtrees(rows, [gid for gid, _p, assigned in rows if assigned])
    return set()


def top_grids(user):
    """The grids shown on a user's 'my grids' page: assigned ones, or all top grids for admins."""
    if user.role == "admin":
        return db.session.scalars(
            select(Grid).where(Grid.community_id == user.community_id, Grid.parent_id.is_(None)).order_by(Grid.code)
        ).all()
    if user.role in GRID_ASSIGNED:
        return db.session.scalars(
            select(Grid).join(GridAssignment, GridAssignment.grid_id == Grid.id)
            .where(GridAssignment.user_id == user.id).order_by(Grid.code)
        ).all()
    return []


def areas(user):
    """What a user's scope covers, as audit subjects: ("community", id) for an admin, else
    ("grid", id) of each assigned grid (its micro-grids included)."""
    if user.role == "admin":
        return [("community", user.community_id)]
    return [("grid", g.id) for g in top_grids(user)] or [("household", None)]


def grid_list(user):
    """The Grid rows the user sees (for filters), by code."""
    return db.session.scalars(select(Grid).where(Grid.id.in_(grid_ids(user) or {-1})).order_by(Grid.code)).all()


def subtree(community_id, grid_id):
    """The grid's id and the ids of every grid below it."""
    return _descendants(community_id, [grid_id])


def own_household_id(user):
    if user.role != "resident" or not user.resident_id:
        return None
    return db.session.scalar(
        select(Residency.household_id).where(
            Residency.resident_id == user.resident_id, Residency.end_date.is_(None)
        )
    )


def households(user):
    """A select() of Household limited to what the user may see."""
    q = select(Household).join(Building, Household.building_id == Building.id)
    if user.role == "resident":
        return q.where(Household.id == own_household_id(user))
    return q.where(Building.grid_id.in_(grid_ids(user) or {-1}))


def buildings(user):
    return select(Building).where(Building.grid_id.in_(grid_ids(user) or {-1}))


def residents(user):
    return (
        select(Resident)
        .join(Residency, (Residency.resident_id == Resident.id) & Residency.end_date.is_(None))
        .where(Residency.household_id.in_(households(user).with_only_columns(Household.id).scalar_subquery()))
    )


def users(admin):
    return select(User).where(User.community_id == admin.community_id)


def can_see_household(user, household_id):
    return db.session.scalar(
        households(user).with_only_columns(Household.id).where(Household.id == household_id)
    ) is not None


def sees_full_id(user):
    """Full ID numbers only where the duty needs them: community admins."""
    return user.role == "admin"
