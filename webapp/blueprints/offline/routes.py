"""The offline plumbing's routes. Thin: the version, the page list and the household
fragments come from helpers here and in the features that contribute them."""
import hashlib
import json
import os

from flask import abort, current_app, jsonify, render_template, request, url_for
from flask_babel import force_locale
from flask_login import current_user

from ... import locales
from ...access import ANY_USER, VIEW_REGISTRY, allow, may, public
from ...extensions import db
from ...services import audit, scope
from ...web.strings import js_strings
from . import bp
from .pages import home_of, pages_for

PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "service-worker.js")
VERSIONED = ("templates", "static", "translations")
BUNDLE_MAX = 200  # households in one bundle answer


def compute_version():
    """A hash of everything the phone caches: the service worker, templates, static files and
    translations. Any deploy that changes one of them gives installed phones a new worker."""
    digest = hashlib.sha256()
    names = [WORKER]
    for top in VERSIONED:
        for folder, dirs, files in os.walk(os.path.join(PACKAGE, top)):
            dirs.sort()
            names += [os.path.join(folder, f) for f in sorted(files) if not f.endswith((".pyc", ".pot"))]
    for name in names:
        digest.update(os.path.relpath(name, PACKAGE).encode())
        with open(name, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:12]


def version():
    """Computed once per process, at the first request that needs it."""
    ext = current_app.extensions
    if "linli_offline_version" not in ext:
        ext["linli_offline_version"] = compute_version()
    return ext["linli_offline_version"]


@bp.app_context_processor
def offline_version():
    return {"offline_version": version()}


@bp.route("/service-worker.js")
@public
def service_worker():
    with open(WORKER, encoding="utf-8") as f:
        script = f.read().replace("__VERSION__", version())
    response = current_app.response_class(script, mimetype="application/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/manifest.webmanifest")
@public
def manifest():
    static = lambda name: url_for("static", filename=name)  # noqa: E731
    data = {
        "name": "邻里",
        "short_name": "邻里",
        "description": "邻里 · 社区网格服务",
        "lang": locales.html_lang(locales.default()),
        "start_url": "/",
        "scope": "/",
        "id": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#b3261e",
        "icons": [
            {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": static("icons/maskable-192.png"), "sizes": "192x192", "type": "image/png",
             "purpose": "maskable"},
            {"src": static("icons/maskable-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "maskable"},
        ],
    }
    response = jsonify(data)
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/i18n/<lang>.js")
@public
def i18n_script(lang):
    """The strings the browser's scripts show, from the catalogue, cached with the app shell."""
    if not locales.supported(lang):
        abort(404)
    with force_locale(lang):
        strings = json.dumps(js_strings(), ensure_ascii=False)
    response = current_app.response_class(f"window.LINLI_T={strings};", mimetype="application/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


def _page_or_fragment(template):
    """Whole page, or (HX-Request) only its main part, which the service worker puts into the
    stored layout of whoever is signed in on the phone."""
    if request.headers.get("HX-Request"):
        return render_template(f"offline/_{template}.html")
    return render_template(f"offline/{template}.html")


@bp.route("/offline")
@public
def offline():
    """Shown for a page that was not stored on the phone, inside the normal layout."""
    return _page_or_fragment("offline")


@bp.route("/outbox")
@public
def outbox():
    """A shell: what waits on this phone lives in its IndexedDB, not on the server."""
    return _page_or_fragment("outbox")


@bp.route("/shell")
@allow(ANY_USER)
def shell():
    """The layout with an empty main, for pages the service worker builds from fragments."""
    return render_template("offline/shell.html")


@bp.route("/offline/manifest.json")
@allow(ANY_USER)
def offline_manifest():
    """What the phone stores for this user: whole pages (home first) and, for those who keep
    households, where to get their versions and fragments."""
    return jsonify(user=current_user.id, version=version(), home=home_of(current_user),
                   pages=pages_for(current_user),
                   households=url_for("offline.versions") if may(current_user, VIEW_REGISTRY) else None)


def _household_versions(user, ids=None):
    from ..registry.routes import household_versions  # the feature owns its page and its data
    return household_versions(user, ids)


def _household_fragments(user, ids):
    """(url, version, html) for the households of `ids` that are in the user's scope. The html
    holds nothing per request (no CSRF token, no form UUID, no time)."""
    from ..registry.routes import household_fragment
    from ...models import Household
    from ...services import registry
    found = _household_versions(user, ids)
    query = (scope.households(user).where(Household.id.in_(list(found))).order_by(Household.id)
             .options(*registry.household_page_options()))
    for household in db.session.scalars(query):
        yield f"/households/{household.id}", found[household.id], household_fragment(household)


@bp.route("/offline/versions.json")
@allow(VIEW_REGISTRY)
def versions():
    """url → version of every household this user keeps; unchanged since the phone's copy → 304.
    One 准备离线 (first or refresh) asks this once: it is the one audit entry for it."""
    data = {f"/households/{hid}": v for hid, v in sorted(_household_versions(current_user).items())}
    for subject_type, subject_id in scope.areas(current_user):  # one entry per area kept (谁看过我的信息)
        audit.record(current_user, "prepare_offline", subject_type, subject_id, f"{len(data)}")
    body = json.dumps({"households": data}, separators=(",", ":"), sort_keys=True)
    response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:16])
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


@bp.route("/offline/bundle")
@allow(VIEW_REGISTRY)
def bundle():
    """The fragments of the households asked for (?ids=1,2,3), in one answer."""
    raw = request.args.get("ids", "")
    try:
        ids = sorted({int(x) for x in raw.split(",") if x.strip()})
    except ValueError:
        abort(400)
    if not ids or len(ids) > BUNDLE_MAX or not all(0 < i < 2 ** 31 for i in ids):
        abort(400)
    fragments = {url: {"v": v, "html": html} for url, v, html in _household_fragments(current_user, ids)}
    body = json.dumps({"fragments": fragments}, ensure_ascii=False, separators=(",", ":"))
    response = current_app.response_class(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response
