"""The web layer: what every view shares, one module per concern.

- login: the user loader and the answer to anonymous requests
- uow: one unit of work per request (commit at the end, roll back on error)
- lookups: the *_or_404 helpers over services/scope.py's queries
- templating: template globals and filters
- fragments: full page or htmx fragment
- headers: response headers every page gets
- errors: one place that answers errors as JSON or HTML
- strings: the strings the browser's scripts show
"""


def install(app):
    from . import errors, headers, login, templating, uow
    for module in (login, uow, templating, headers, errors):
        module.install(app)
