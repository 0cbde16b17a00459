"""One clock for the whole app, so tests can move time (escalation, due dates)."""
import os
from datetime import datetime, timedelta, timezone

_offset = timedelta(0)
_FILE = os.environ.get("LINLI_CLOCK_FILE")
_frozen = None


def utcnow():
    """Naive UTC now, as stored in the database."""
    if _frozen is not None:
        return _frozen
    if _FILE:  # a clock another process controls (tests of restarts mid-escalation)
        try:
            with open(_FILE) as f:
                return datetime.fromisoformat(f.read().strip())
        except (OSError, ValueError):
            pass
    return datetime.now(timezone.utc).replace(tzinfo=None) + _offset


def freeze(at):
    global _frozen
    _frozen = at


def advance(delta):
    global _offset, _frozen
    if _frozen is not None:
        _frozen = _frozen + delta
    else:
        _offset += delta


def reset():
    global _offset, _frozen
    _offset = timedelta(0)
    _frozen = None
