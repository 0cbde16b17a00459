"""The admin forms' one pattern.

A form shows the stored values on GET and, after a refused POST, the input exactly
as typed with the reason inline (status 400). A save redirects with a flash message
that the next page shows (base.html)."""
from flask import flash, redirect, render_template, request
from werkzeug.datastructures import MultiDict


def values(stored=None):
    """What the form fields show: the request's input after a POST, else `stored` (a dict)."""
    if request.method == "POST":
        return request.form
    data = MultiDict()
    for key, value in (stored or {}).items():
        if isinstance(value, (list, tuple, set)):
            for item in value:
                data.add(key, "" if item is None else str(item))
        else:
            data.add(key, "" if value is None else str(value))
    return data


def page(template, error=None, **ctx):
    """Render a form page: 400 with the error when refused, 200 otherwise."""
    return render_template(template, error=error, **ctx), (400 if error else 200)


def saved(message, location):
    """A save went through: say so on the next page."""
    flash(message, "ok")
    return redirect(location)


def int_or_none(value):
    value = (value or "").strip() if isinstance(value, str) else value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12 and int(value) < 2 ** 31:
        return int(value)  # what an id column holds: anything else is no id at all
    return None
