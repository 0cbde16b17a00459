"""Less on the wire: HTML, CSS, JS and JSON are compressed by Flask-Compress, brotli
when the browser accepts it (Accept-Encoding: br), gzip otherwise.

Streamed responses (a generator body, for example a large download) are left as they
are, so they still stream. Static files are sent by Werkzeug as a file stream; the
ones worth compressing (CSS, JS, SVG, a few hundred KB at most) are read into memory
first so they are compressed like any other page, with gzip too.
"""
from flask import request

from ..extensions import compress

MIMETYPES = ["text/html", "text/css", "text/javascript", "application/javascript", "application/json",
             "application/manifest+json", "image/svg+xml", "text/plain"]
STATIC_BUFFER_MAX = 2 * 1024 * 1024

DEFAULTS = {
    "COMPRESS_MIMETYPES": MIMETYPES,
    "COMPRESS_ALGORITHM": ["br", "gzip"],  # in order of preference, among those the browser accepts
    "COMPRESS_BR_LEVEL": 5,
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 500,
    "COMPRESS_STREAMS": False,
}


def _buffer_static(response):
    if (request.endpoint == "static" and response.status_code == 200 and response.is_streamed
            and response.mimetype in MIMETYPES and (response.content_length or 0) <= STATIC_BUFFER_MAX):
        response.direct_passthrough = False
        response.set_data(response.get_data())
    return response


def install(app):
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    compress.init_app(app)
    app.after_request(_buffer_static)  # registered after Compress, so it runs before it
