"""Role gates for views. Every endpoint declares who may call it; one without a
declaration answers 404 (deny by default), and the access-matrix test fails.

Data scope (which grids and households) lives in services/scope.py.
"""
from functools import wraps

from flask import abort, current_app, request
from flask_login import current_user

PUBLIC = "public"
ANY_USER = ("admin", "leader", "worker", "volunteer", "resident")
REGISTRY = ("admin", "leader", "worker")
FIELD = ("admin", "leader", "worker", "volunteer")


def allow(*roles):
    """Only these roles (after login); others get 404, anonymous users the login page."""
    def deco(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)
        wrapped.access = tuple(roles)
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
