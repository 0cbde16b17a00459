"""Who may do what, in one place: named capabilities → roles, and each role's home page.

Every endpoint declares who may call it (`@allow(CAPABILITY)` or `@public`); one without
a declaration answers 404 (deny by default), and the access-matrix test fails. Templates
ask `can('CAPABILITY')`, home routing uses HOME, and record kinds declare the capabilities
that may create them.

Data scope (which grids and households) lives in services/scope.py.
"""
from functools import wraps

from flask import abort, current_app, request
from flask_login import current_user

from .models.user import ROLES

PUBLIC = "public"


class Capability(tuple):
    """A named set of roles. A tuple, so `role in CAPABILITY` reads as it should."""

    def __new__(cls, name, roles):
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"capability {name}: unknown roles {sorted(unknown)}")
        obj = super().__new__(cls, roles)
        obj.name = name
        return obj

    def __repr__(self):
        return f"{self.name}{tuple(self)}"


CAPABILITIES = {c.name: c for c in (
    Capability("ANY_USER", ROLES),
    Capability("ADMIN", ("admin",)),
    # the registry of grids, buildings, households and residents, and its search
    Capability("VIEW_REGISTRY", ("admin", "leader", "worker")),
    # the daily round: who is due for a visit
    Capability("VISIT_ROUNDS", ("leader", "worker")),
    # door-to-door visits (入户走访): write and read
    Capability("RECORD_VISITS", ("admin", "leader", "worker")),
    # raise an alert about a household, and acknowledge / resolve alerts
    Capability("RAISE_ALERTS", ("admin", "leader", "worker")),
    Capability("HANDLE_ALERTS", ("admin", "leader", "worker")),
    # a resident's own SOS button and home page
    Capability("SOS", ("resident",)),
    # daily check-in (平安打卡): the resident for their own household, staff on an elder's behalf;
    # enrolling an elder, their deadline and pauses: staff, in their grids
    Capability("CHECK_IN", ("resident", "admin", "leader", "worker")),
    Capability("ENROL_CHECKIN", ("admin", "leader", "worker")),
    # invite a household's residents to the app
    Capability("INVITE_RESIDENTS", ("admin", "leader", "worker")),
    # the phone's outbox and 准备离线: people who work in the field
    Capability("WORK_OFFLINE", ("admin", "leader", "worker", "volunteer")),
    # meal deliveries (爱心配餐): record on one's routes; a volunteer's daily round; staff's routes and reports
    Capability("DELIVER_MEALS", ("admin", "leader", "worker", "volunteer")),
    Capability("MEAL_ROUNDS", ("volunteer",)),
    # the list of high-risk elders overdue for a visit (their grids; admins: the community)
    Capability("FOLLOW_OVERDUE", ("admin", "leader", "worker")),
    # mark workers away (请假/病假): admins any worker or leader, leaders their grids' workers
    Capability("MANAGE_ABSENCES", ("admin", "leader")),
    # residents' requests (诉求): see one's own (residents) or one's grids' (staff); handle them; verify,
    # merge and take to a residents' meeting (leaders and the community's desk)
    Capability("REQUESTS", ("admin", "leader", "worker", "resident")),
    Capability("HANDLE_REQUESTS", ("admin", "leader", "worker")),
    Capability("VERIFY_REQUESTS", ("admin", "leader")),
    # grid assignments: roles whose scope is the grids they are assigned to
    Capability("GRID_ASSIGNED", ("leader", "worker")),
    # the dashboard, the team view, the monthly evaluation and report: admins (their community),
    # leaders (their grids); a worker's own work is their daily round
    Capability("VIEW_DASHBOARD", ("admin", "leader")),
    # 零上报: nothing to report in one's grid today
    Capability("ZERO_REPORT", ("leader", "worker")),
)}
ANY_USER = CAPABILITIES["ANY_USER"]
ADMIN = CAPABILITIES["ADMIN"]
VIEW_REGISTRY = CAPABILITIES["VIEW_REGISTRY"]
VISIT_ROUNDS = CAPABILITIES["VISIT_ROUNDS"]
RECORD_VISITS = CAPABILITIES["RECORD_VISITS"]
RAISE_ALERTS = CAPABILITIES["RAISE_ALERTS"]
HANDLE_ALERTS = CAPABILITIES["HANDLE_ALERTS"]
SOS = CAPABILITIES["SOS"]
CHECK_IN = CAPABILITIES["CHECK_IN"]
ENROL_CHECKIN = CAPABILITIES["ENROL_CHECKIN"]
INVITE_RESIDENTS = CAPABILITIES["INVITE_RESIDENTS"]
WORK_OFFLINE = CAPABILITIES["WORK_OFFLINE"]
GRID_ASSIGNED = CAPABILITIES["GRID_ASSIGNED"]
DELIVER_MEALS = CAPABILITIES["DELIVER_MEALS"]
MEAL_ROUNDS = CAPABILITIES["MEAL_ROUNDS"]
FOLLOW_OVERDUE = CAPABILITIES["FOLLOW_OVERDUE"]
MANAGE_ABSENCES = CAPABILITIES["MANAGE_ABSENCES"]
REQUESTS, HANDLE_REQUESTS, VERIFY_REQUESTS = (CAPABILITIES[n] for n in ("REQUESTS", "HANDLE_REQUESTS",
                                                                        "VERIFY_REQUESTS"))
VIEW_DASHBOARD = CAPABILITIES["VIEW_DASHBOARD"]
ZERO_REPORT = CAPABILITIES["ZERO_REPORT"]
# older names, kept so that routes written before the capabilities still read
REGISTRY = VIEW_REGISTRY
FIELD = WORK_OFFLINE

# where "/" (and the installed icon) takes each role: an endpoint
HOME = {"admin": "admin.index", "leader": "visits.today", "worker": "visits.today",
        "resident": "resident.home", "volunteer": "meals.home"}


def roles_of(*granted):
    """Roles of capabilities (Capability objects or their names) and bare role names, in order."""
    roles = []
    for item in granted:
        if isinstance(item, Capability):
            members = tuple(item)
        elif item in CAPABILITIES:
            members = tuple(CAPABILITIES[item])
        elif item in ROLES:
            members = (item,)
        else:
            raise ValueError(f"unknown capability or role: {item!r}")
        roles.extend(r for r in members if r not in roles)
    return tuple(roles)


def may(user, capability):
    """Whether this user (possibly anonymous) has the capability."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.role in roles_of(capability)


def can(capability):
    """The template global: can('VIEW_REGISTRY')."""
    return may(current_user, capability)


def allow(*granted):
    """Only these capabilities or roles (after login); others get 404, anonymous users the login page."""
    roles = roles_of(*granted)

    def deco(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)
        wrapped.access = roles
        return wrapped
    return deco


def public(view):
    view.access = PUBLIC
    return view


def access_of(app, endpoint):
    view = app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def enforce_declared(app):
    @app.before_request
    def _deny_undeclared():
        if request.endpoint is None or request.endpoint == "static":
            return None
        if access_of(app, request.endpoint) is None:
            abort(404)
        return None

    app.jinja_env.globals["can"] = can


def role_names():
    from flask_babel import gettext as _
    return {
        "admin": _("社区管理员"),
        "leader": _("网格长"),
        "worker": _("网格员"),
        "volunteer": _("志愿者/楼长"),
        "resident": _("居民"),
    }
