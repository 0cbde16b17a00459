"""Local time: each community lives in its own timezone (community setting "timezone",
an IANA name such as "Asia/Shanghai"; config DEFAULT_TIMEZONE otherwise). The database
keeps naive UTC; people see and type local time. The one place that converts."""
from datetime import timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

from .clock import utcnow
from .config import Config


def zone_name(community=None):
    """The community's timezone name, when it is a valid one; else the configured default."""
    name = community.setting("timezone") if community is not None else None
    if name and _valid(name):
        return name
    return current_app.config.get("DEFAULT_TIMEZONE", Config.DEFAULT_TIMEZONE) if has_app_context() \
        else Config.DEFAULT_TIMEZONE


def _valid(name):
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False


def zone(community=None):
    return ZoneInfo(zone_name(community))


def to_local(when, community=None):
    """Naive UTC (as stored) → naive local wall time. None stays None."""
    if when is None:
        return None
    return when.replace(tzinfo=timezone.utc).astimezone(zone(community)).replace(tzinfo=None)


def to_utc(when, community=None):
    """Naive local wall time (as typed on a form) → naive UTC. An aware time is converted as it is."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(community))
    return when.astimezone(timezone.utc).replace(tzinfo=None)


def now(community=None):
    """Local wall time now (on the app's clock)."""
    return to_local(utcnow(), community)


def today(community=None):
    return now(community).date()
