from flask import Blueprint

bp = Blueprint("requests", __name__)

from . import routes  # noqa: E402,F401
