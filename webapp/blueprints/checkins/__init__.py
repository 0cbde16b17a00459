from flask import Blueprint

bp = Blueprint("checkins", __name__)

from . import routes  # noqa: E402,F401
