"""Thin HTTP: a route checks access, calls a service, renders."""


def register_all(app):
    from . import (admin, alerts, api, auth, checkins, dashboard, main, meals, offline, registry, requests, resident,
                   visits)

    for module in (main, offline, auth, registry, admin, visits, api, alerts, resident, meals, checkins, requests,
                   dashboard):
        app.register_blueprint(module.bp)
