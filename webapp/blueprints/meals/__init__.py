from flask import Blueprint

bp = Blueprint("meals", __name__)

from . import routes  # noqa: E402,F401
