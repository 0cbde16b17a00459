"""HTML, CSS, JS and JSON travel compressed: brotli when the browser accepts it, gzip
otherwise, and each body decompresses to exactly what an uncompressing client gets.
The service worker keeps its headers; downloads and streamed responses still arrive whole."""
import gzip
import os
import re

import brotli
import pytest
from flask import Response, stream_with_context

from webapp import create_app
from webapp.access import public

BR = "gzip, deflate, br, zstd"
GZIP = "gzip, deflate"
# What differs between two renders of the same page: CSRF tokens, the fresh UUID of each form,
# and the times of the render and the form's default (a second or a minute may turn between two
# requests on a slow machine).
TOKEN = re.compile(rb'(name="csrf_token" value="|csrf_token": ?"|content="|name="uuid" value=")[^"]*"|'
                   rb'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|'
                   rb'\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z?')


def fetch(client, url, encoding=None):
    headers = {"Accept-Encoding": encoding} if encoding else {}
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return response


def decoded(response):
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


def same(a, b):
    return TOKEN.sub(b"TOKEN", a) == TOKEN.sub(b"TOKEN", b)


URLS = ["/login", "/static/css/app.css", "/static/js/app.js", "/static/js/outbox.js",
        "/static/vendor/htmx.min.js", "/service-worker.js", "/manifest.webmanifest", "/api/openapi.json",
        "/i18n/zh_Hans.js"]


@pytest.mark.parametrize("url", URLS)
def test_brotli_when_accepted_gzip_otherwise_same_content(client, url):
    plain = fetch(client, url)
    assert "Content-Encoding" not in plain.headers
    raw = plain.get_data()
    assert len(raw) > 500, (url, len(raw))  # big enough to be worth compressing
    for accept, expected in ((BR, "br"), (GZIP, "gzip"), ("br;q=1.0, gzip;q=0.5", "br"), ("gzip", "gzip")):
        response = fetch(client, url, accept)
        assert response.headers.get("Content-Encoding") == expected, (url, accept, dict(response.headers))
        assert "accept-encoding" in response.headers.get("Vary", "").lower()
        assert response.mimetype == plain.mimetype
        assert len(response.get_data()) < len(raw)
        assert same(decoded(response), raw), url
        assert int(response.headers["Content-Length"]) == len(response.get_data())


def test_identity_only_client_gets_plain_bytes(client):
    response = fetch(client, "/static/js/app.js", "identity")
    assert "Content-Encoding" not in response.headers and b"function" in response.get_data()


def test_signed_in_pages_are_compressed(as_user, world):
    worker = as_user("worker1")
    for url in ("/today", "/grids", f"/households/{world.grid1[0].id}"):
        plain = fetch(worker, url).get_data()
        response = fetch(worker, url, BR)
        assert response.headers["Content-Encoding"] == "br"
        got = decoded(response)
        assert same(got, plain), [(a, b) for a, b in zip(TOKEN.sub(b"T", got).split(b"\n"),
                                                          TOKEN.sub(b"T", plain).split(b"\n")) if a != b]
        assert len(response.get_data()) * 2 < len(plain)  # HTML compresses well; less than half


def test_service_worker_keeps_its_headers_when_compressed(client):
    plain = fetch(client, "/service-worker.js")
    response = fetch(client, "/service-worker.js", BR)
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.mimetype in ("application/javascript", "text/javascript")
    assert decoded(response) == plain.get_data()
    assert b"__VERSION__" not in decoded(response)


def test_static_files_still_answer_not_modified(client):
    first = fetch(client, "/static/css/app.css", BR)
    etag = first.headers.get("ETag")
    assert etag
    again = client.get("/static/css/app.css", headers={"Accept-Encoding": BR, "If-None-Match": etag})
    assert again.status_code == 304


def test_household_export_download_is_whole(as_user, world):
    admin = as_user("admin")
    response = admin.get("/admin/export.csv", headers={"Accept-Encoding": BR})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    text = decoded(response).decode("utf-8")
    assert text.startswith("\ufeff") and len(text.splitlines()) > 3


def test_streamed_download_still_streams(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(tmp_path, "s.sqlite")},
                     instance_path=str(tmp_path))
    produced = []

    def rows():
        for i in range(2000):
            produced.append(i)
            yield f"{i},住户{i}\n"

    @app.route("/_stream_test")
    @public
    def stream():
        return Response(stream_with_context(rows()), mimetype="text/html")  # a compressible type, on purpose

    client = app.test_client()
    response = client.get("/_stream_test", headers={"Accept-Encoding": BR}, buffered=False)
    assert response.status_code == 200
    first = next(iter(response.response))
    assert produced and len(produced) < 2000  # the body is produced as it is read, not buffered
    body = first + b"".join(response.response)
    assert "Content-Encoding" not in response.headers
    assert body.decode("utf-8") == "".join(f"{i},住户{i}\n" for i in range(2000))
