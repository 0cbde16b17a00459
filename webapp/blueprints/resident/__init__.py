from flask import Blueprint

bp = Blueprint("resident", __name__)

from . import routes  # noqa: E402,F401
