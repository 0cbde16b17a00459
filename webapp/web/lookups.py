"""The web layer's object-or-404 helpers: scope.py's queries, answered 404 outside scope.

services/scope.py stays pure queries, usable from jobs and CLI commands."""
from flask import abort, request

from ..extensions import db
from ..models import Building, Grid, Household, Resident, User
from ..services import scope

MAX_ID = 2 ** 31 - 1  # the id columns are 32-bit integers


def object_id(value):
    """An id from a URL or a form: a positive 32-bit integer, or 404 (never a 500 from the database)."""
    if isinstance(value, str):
        value = value.strip()
        if not value.isascii() or not value.isdigit() or len(value) > 10:
            abort(404)
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
        abort(404)
    return value


def _not_found(user, kind, object_id):
    """A 404 on an object outside the user's scope (or missing) is audited: probing other
    grids' ids shows in the trail. The answer rolls the request back, so the entry is
    written durably on its own connection."""
    from ..services import audit
    who = user if user is not None and getattr(user, "is_authenticated", True) else None
    audit.record(who, "not_found", kind, object_id, f"{request.method} {request.path}"[:200], durable=True)
    abort(404)


def _one_or_404(query, user, kind, object_id):
    obj = db.session.scalars(query).first()
    if obj is None:
        _not_found(user, kind, object_id)
    return obj


def grid_or_404(user, grid_id):
    grid_id = object_id(grid_id)
    if grid_id not in scope.grid_ids(user):
        _not_found(user, "grid", grid_id)
    return db.get_or_404(Grid, grid_id)


def building_or_404(user, building_id):
    building_id = object_id(building_id)
    return _one_or_404(scope.buildings(user).where(Building.id == building_id), user, "building", building_id)


def household_or_404(user, household_id, *options):
    """options: loader options for what the page shows (registry.household_page_options())."""
    household_id = object_id(household_id)
    return _one_or_404(scope.households(user).where(Household.id == household_id).options(*options), user,
                       "household", household_id)


def resident_or_404(user, resident_id):
    resident_id = object_id(resident_id)
    return _one_or_404(scope.residents(user).where(Resident.id == resident_id), user, "resident", resident_id)


def user_or_404(admin, user_id):
    user_id = object_id(user_id)
    return _one_or_404(scope.users(admin).where(User.id == user_id), admin, "user", user_id)


def absentee_or_404(actor, user_id):
    """A worker or leader whose absences the actor may record (services/coverage.may_manage)."""
    from ..services import coverage
    user_id = object_id(user_id)
    user = db.session.get(User, user_id)
    if not coverage.may_manage(actor, user):
        _not_found(actor, "user", user_id)
    return user


def absence_or_404(actor, absence_id):
    from ..models import Absence
    from ..services import coverage
    absence_id = object_id(absence_id)
    absence = db.session.get(Absence, absence_id)
    if absence is None or not coverage.may_manage(actor, absence.user):
        _not_found(actor, "absence", absence_id)
    return absence
