"""Thin HTTP: a route checks access, calls a service, renders."""


def register_all(app):
    from . import admin, alerts, api, auth, main, registry, resident, visits

    for module in (main, auth, registry, admin, visits, api, alerts, resident):
        app.register_blueprint(module.bp)
