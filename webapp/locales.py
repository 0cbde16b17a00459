"""The languages the app speaks: one list, config LANGUAGES (code → its own name and the
HTML lang attribute; the first is the default). Everything that names a locale asks here."""
from flask import current_app, has_app_context
from flask_babel import get_locale

from .config import Config


def _languages():
    return current_app.config["LANGUAGES"] if has_app_context() else Config.LANGUAGES


def default():
    return next(iter(_languages()))


def supported(code):
    return isinstance(code, str) and code in _languages()


def choices():
    """[(code, its own name)] for a language switcher."""
    return [(code, name) for code, (name, _html) in _languages().items()]


def current():
    """The code of the locale in use (a supported one)."""
    code = str(get_locale() or "")
    return code if supported(code) else default()


def html_lang(code=None):
    return _languages()[code or current()][1]
