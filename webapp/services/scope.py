"""Data scope, in one place: which grids and households a user may see.

- admin: their whole community
- leader: their grids and every micro-grid below
- worker: the grids assigned to them (and micro-grids below)
- volunteer: nothing of the registry
- resident: their own household only

Every registry query goes through here; anything else answers 404.
"""
from flask import abort
from sqlalchemy import select

from ..extensions import db
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
    if user.role in ("leader", "worker"):
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
    if user.role in ("leader", "worker"):
        return db.session.scalars(
            select(Grid).join(GridAssignment, GridAssignment.grid_id == Grid.id)
            .where(GridAssignment.user_id == user.id).order_by(Grid.code)
        ).all()
    return []


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


def _one_or_404(query):
    obj = db.session.scalars(query).first()
    if obj is None:
        abort(404)
    return obj


def grid_or_404(user, grid_id):
    if grid_id not in grid_ids(user):
        abort(404)
    return db.get_or_404(Grid, grid_id)


def building_or_404(user, building_id):
    return _one_or_404(buildings(user).where(Building.id == building_id))


def household_or_404(user, household_id):
    return _one_or_404(households(user).where(Household.id == household_id))


def resident_or_404(user, resident_id):
    return _one_or_404(residents(user).where(Resident.id == resident_id))


def user_or_404(admin, user_id):
    return _one_or_404(users(admin).where(User.id == user_id))


def can_see_household(user, household_id):
    return db.session.scalar(
        households(user).with_only_columns(Household.id).where(Household.id == household_id)
    ) is not None


def sees_full_id(user):
    """Full ID numbers only where the duty needs them: community admins."""
    return user.role == "admin"
