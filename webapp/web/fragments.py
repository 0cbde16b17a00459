"""One URL answers a whole page or an htmx fragment (contact-app style)."""
from ..extensions import htmx


def wants_fragment():
    """An htmx request for part of a page (not htmx restoring history, which needs the whole page)."""
    return bool(htmx) and not htmx.history_restore_request
