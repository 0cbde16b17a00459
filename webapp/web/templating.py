"""What templates share: helpers in every context, and filters."""
from flask import request
from flask_babel import format_datetime
from flask_login import current_user

from .. import access, locales
from . import navigation
from ..clock import utcnow
from ..services import identity, push, registry, scope


def install(app):
    @app.context_processor
    def helpers():
        user = current_user if current_user.is_authenticated else None
        return {
            "mask_phone": identity.mask_phone,
            "mask_id": identity.mask_id,
            "full_id": bool(user and scope.sees_full_id(user)),
            "elder": bool(user and user.role == "resident") or request.cookies.get("elder") == "1",
            "role_names": access.role_names(),
            "locales": locales,
            "unread_notices": lambda: push.unread_count(user) if user else 0,
            "care_labels": registry.care_labels,
            "now_iso": utcnow().isoformat(timespec="seconds") + "Z",
            "navigation": lambda: navigation.bar(user) if user else [],
        }

    @app.template_filter("local")
    def local_time(value, fmt="yyyy-MM-dd HH:mm"):
        return format_datetime(value, fmt) if value else ""
