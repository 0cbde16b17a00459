"""Named rate limits on Flask-Limiter's storage (memory:// in development, Redis in production).

Each `hit` is atomic in the storage, so parallel requests cannot slip past a limit: a
request takes its place in the moving window before any password is checked. Limits are
read from the config by name ("5 per 5 minutes;10 per hour"); when several are given the
longer windows are the back-off: a few quick tries, then growing waits, never a permanent lock.
"""
import math
import time

from flask import current_app
from limits import parse_many

from ..extensions import limiter


def _items(name):
    return parse_many(current_app.config[name])


def hit(name, *key):
    """Take one place in every window of limit `name` for `key`.
    Returns 0 when allowed, else the seconds to wait."""
    items = _items(name)
    for item in items:
        if not limiter.limiter.hit(item, name, *key):
            # the wait is the longest of the windows that are full, not the first one found full:
            # "try again in 1 minute" is wrong when the hour's window is full too
            stats = [limiter.limiter.get_window_stats(i, name, *key) for i in items]
            reset = max(s.reset_time for s in stats if s.remaining == 0) if any(
                s.remaining == 0 for s in stats) else stats[items.index(item)].reset_time
            return max(1, math.ceil(reset - time.time()))
    return 0


def clear(name, *key):
    for item in _items(name):
        limiter.limiter.clear(item, name, *key)


def minutes(seconds):
    return max(1, math.ceil(seconds / 60))
