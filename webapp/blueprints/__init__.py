"""Thin HTTP: a route checks access, calls a service, renders."""


def register_all(app):
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .main import bp as main_bp
    from .registry import bp as registry_bp

    for bp in (main_bp, auth_bp, registry_bp, admin_bp):
        app.register_blueprint(bp)
    for name in ("visits", "api", "alerts", "resident"):
        try:
            module = __import__(f"{__name__}.{name}", fromlist=["bp"])
        except ModuleNotFoundError:
            continue
        app.register_blueprint(module.bp)
