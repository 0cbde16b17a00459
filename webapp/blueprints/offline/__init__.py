"""Everything the phone keeps for use without network: the service worker, the
manifest, the browser strings, the offline notice, the outbox page, the layout
shell, and the pages each feature asks to be stored for each role."""
from flask import Blueprint

bp = Blueprint("offline", __name__)

from . import routes  # noqa: E402,F401
