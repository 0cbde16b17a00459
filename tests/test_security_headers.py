"""Issue 9, finding 11: security headers and no-store on personal data."""
import os
import re


TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "webapp", "templates")


def _csp(response):
    policy = response.headers.get("Content-Security-Policy", "")
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def test_f11_pages_carry_a_strict_policy(app, as_user, world):
    worker = as_user("worker1")
    page = worker.get(f"/households/{world.grid1[0].id}")
    csp = _csp(page)
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    assert "Strict-Transport-Security" not in page.headers  # plain HTTP: no HSTS
    anon = app.test_client().get("/login", base_url="https://linli.example")
    assert "max-age=" in anon.headers["Strict-Transport-Security"]
    assert _csp(anon)["frame-ancestors"] == ["'none'"]


def test_f11_personal_data_is_not_stored_by_caches(app, as_user, world):
    admin = as_user("admin")
    worker = as_user("worker1")
    answers = {
        "household page": worker.get(f"/households/{world.grid1[0].id}"),
        "htmx fragment": worker.get("/search?q=1", headers={"HX-Request": "true"}),
        "json": worker.get("/api/session"),
        "offline manifest": worker.get("/offline/manifest.json"),
        "households export": admin.get("/admin/export.csv"),
        "visits export": admin.get("/admin/visits/export.xlsx"),
        "login page": app.test_client().get("/login"),
    }
    for name, r in answers.items():
        assert r.status_code == 200, name
        assert "no-store" in r.headers.get("Cache-Control", ""), name
    # the app shell stays cacheable (the service worker and the browser cache it deliberately)
    static = worker.get("/static/css/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    sw = worker.get("/service-worker.js")
    assert "no-store" not in sw.headers.get("Cache-Control", "")


def test_f11_templates_have_no_inline_script_or_style():
    offenders = []
    for root, _dirs, files in os.walk(TEMPLATES):
        for name in files:
            text = open(os.path.join(root, name), encoding="utf-8").read()
            for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"<style\b", r"\sstyle=", r"\son[a-z]+=\""):
                if re.search(pattern, text):
                    offenders.append((name, pattern))
    assert offenders == []


def test_f11_htmx_is_configured_for_the_policy(as_user, world):
    html = as_user("worker1").get("/search").get_data(as_text=True)
    m = re.search(r"<meta name=\"htmx-config\" content='([^']+)'", html)
    assert m and '"includeIndicatorStyles":false' in m.group(1) and '"allowEval":false' in m.group(1)
