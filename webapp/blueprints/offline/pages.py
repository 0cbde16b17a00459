"""The pages stored on the phone, built from what each feature contributes.

A feature registers a function `pages(user)` that yields the URLs of whole pages
worth keeping for that user (today's list, the SOS page…). Households are stored
apart, as fragments in one bundle (see routes.bundle)."""

_CONTRIBUTIONS = []


def contribute(fn):
    """Decorator: fn(user) yields URLs of whole pages to store for this user."""
    _CONTRIBUTIONS.append(fn)
    return fn


def home_of(user):
    """Where the installed icon (start_url "/") leads this user: their home in access.HOME."""
    from flask import url_for
    from ...access import HOME
    return url_for(HOME[user.role]) if HOME.get(user.role) else "/"


def pages_for(user):
    """Every page to store for the user, home first, without duplicates."""
    seen, out = set(), []
    for url in [home_of(user), *(u for fn in _CONTRIBUTIONS for u in fn(user)), "/settings"]:
        if url not in seen:
            seen.add(url)
            out.append(url)
    return out
