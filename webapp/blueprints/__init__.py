"""Thin HTTP: a route checks access, calls a service, renders."""


def register_all(app):
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .main import bp as main_bp
    from .registry import bp as registry_bp

    for bp in (main_bp, auth_bp, registry_bp, admin_bp):
        app.register_blueprint(bp)
    from .alerts import bp as alerts_bp
    from .api import bp as api_bp
    from .resident import bp as resident_bp
    from .visits import bp as visits_bp

    for bp in (visits_bp, api_bp, alerts_bp, resident_bp):
        app.register_blueprint(bp)
