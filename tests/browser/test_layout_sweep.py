"""Issue 19: every page each role reaches, as a phone shows it, under the app's real CSP.

The pages are the access matrix's own route table (tests/test_access_matrix.py: ENDPOINTS and
INTENT), every GET route a role may call, with real ids from the demo data. Each page is
opened at 360×740 and looked at again at 320×640, in Chinese and in English, and it fails when:
- the document scrolls sideways (a wide table may scroll inside its own focusable region);
- fixed or sticky bars take more than 15% of the viewport's height;
- the bottom tab bar has more than 5 tabs, or a tab's label wraps or is cut.

axe-core (from the npm registry, pinned in package-lock.json, copied to tests/browser/vendor at
set-up) runs on each page at 360 px in both languages and fails on any serious or critical
violation. A page that is not HTML (exports, JSON, scripts, photos) is not a page to look at:
those are listed in NOT_PAGES, and a page that answers something else fails."""
import pathlib
import uuid

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.services import records, scope

from ..conftest import PG
from ..test_access_matrix import ENDPOINTS, INTENT, PUBLIC, ROLE_USER, _objects, _url, endpoints, rules
from .conftest import sign_in

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(PG, reason="layout does not depend on the database: the sweep runs on SQLite")]

AXE = pathlib.Path(__file__).parent / "vendor" / "axe.min.js"
VIEWPORTS = ({"width": 360, "height": 740}, {"width": 320, "height": 640})
# GET routes that answer no page: files, JSON, scripts, fragments for htmx, and the way out
NOT_PAGES = {
    "main.healthz", "offline.service_worker", "offline.manifest", "offline.i18n_script", "offline.offline_manifest",
    "offline.versions", "offline.bundle", "api.openapi", "api.push_key", "api.session_info", "admin.export",
    "admin.audit_export", "visits.export", "meals.export", "dashboard.panel_csv", "dashboard.report_download",
    "requests.photo", "admin.pick", "auth.logout",
    # fragments that their page polls with htmx (the import's progress, the resident's SOS status)
    "admin.import_progress", "resident.sos_status",
}

# What a person would see: the checks, in the page, on its current layout.
LOOK = r"""(lang) => {
  const problems = [];
  const de = document.documentElement, vw = de.clientWidth, vh = window.innerHeight;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.classList.length ? '.' + [...el.classList].join('.') : '');
  if (de.scrollWidth > vw) {
    // the deepest elements that reach past the right edge, so the failure says where to look
    const wide = [...document.body.querySelectorAll('*')].filter(el => {
      const r = el.getBoundingClientRect();
      return r.width && r.right > vw + 1 && ![...el.children].some(c => c.getBoundingClientRect().right > vw + 1);
    }).slice(0, 4).map(el => name(el) + ' ' + Math.round(el.getBoundingClientRect().right) + 'px');
    problems.push(`scrolls sideways: ${de.scrollWidth}px > ${vw}px (${wide.join(', ')})`);
  }
  // fixed and sticky bars: the union of the heights they cover on screen
  const spans = [];
  for (const el of document.body.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    if ((cs.position !== 'fixed' && cs.position !== 'sticky') || cs.visibility === 'hidden') continue;
    const r = el.getBoundingClientRect();
    if (r.width && r.height) spans.push([Math.max(0, r.top), Math.min(vh, r.bottom), name(el)]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let covered = 0, end = 0;
  for (const [top, bottom] of spans) {
    if (bottom <= end) continue;
    covered += bottom - Math.max(top, end);
    end = bottom;
  }
  if (covered > 0.15 * vh) {
    problems.push(`fixed bars cover ${Math.round(covered)}px of ${vh}px (${spans.map(s => s[2]).join(', ')})`);
  }
  const tabs = [...document.querySelectorAll('nav.tabs a')];
  if (tabs.length > 5) problems.push(`${tabs.length} tabs in the bottom bar`);
  for (const a of tabs) {
    const range = document.createRange();
    range.selectNodeContents(a);
    const lines = new Set([...range.getClientRects()].filter(r => r.width).map(r => Math.round(r.bottom)));
    if (lines.size > 1 || a.scrollWidth > a.clientWidth) {
      problems.push(`tab label "${a.textContent.trim()}" wraps or is cut (${lines.size} lines, ` +
                    `${a.scrollWidth}px in ${a.clientWidth}px)`);
    }
  }
  if (lang === 'en') {  // the bar and the header's badges speak the page's language
    for (const el of document.querySelectorAll('nav.tabs a, header .badge')) {
      if (/[\u4e00-\u9fff]/.test(el.textContent)) problems.push(`"${el.textContent.trim()}" in Chinese on an English page`);
    }
  }
  return problems;
}"""

AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id}: ` + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


def pages_of(app, role, values):
    """(endpoint, url) of every GET page the role may open, with the demo's real ids."""
    out = []
    for endpoint in endpoints(app):
        meant = INTENT[ENDPOINTS[endpoint]]
        if endpoint in NOT_PAGES or not (meant == PUBLIC or role in meant):
            continue
        for rule in rules(app, endpoint):
            if "GET" in rule.methods:
                out.append((endpoint, _url(app, rule, values)))
    return out


def _own_request(resident, household):
    """A request the resident made, so their case page is a real one."""
    from webapp.models import Request
    from webapp.services import requests
    category = requests.categories(household.building.grid.community_id)[0]
    answer = records.ingest_one(resident, "request", str(uuid.uuid4()),
                                {"category_id": category.id, "text": "电梯经常停", "household_id": household.id})
    assert answer["status"] == "stored", answer
    return db.session.scalar(select(Request.id).where(Request.uuid == answer["uuid"]))


def _values(world, role):
    own = scope.own_household_id(world.users["resident1"])
    household = next(h for h in world.grid1 if h.id == own)
    values = _objects(world, household, world.users["worker1"], world.users["admin"])
    if role == "resident":
        values["request_id"] = _own_request(world.users["resident1"], household)
    db.session.commit()
    return values


def report(problems):
    """The problems grouped: one line for each problem with the pages it was found on (the same
    cut tab shows on every page of a role)."""
    pages = {}
    for where, problem in problems:
        pages.setdefault(problem, []).append(where)
    return f"{len(problems)} problems:\n" + "\n".join(
        f"{problem} — on {len(found)} page(s): {', '.join(found[:3])}" for problem, found in pages.items())


def _look(page, where, problems, axe, lang="zh_Hans"):
    role_lang, size = where.split(" /")[0], where.rsplit(" ", 1)[-1]
    for problem in page.evaluate(LOOK, lang):
        problems.append((where, f"{role_lang} {size}: {problem}"))
    if axe:
        if not page.evaluate("typeof axe !== 'undefined'"):
            page.evaluate(AXE.read_text(encoding="utf-8"))  # through CDP, not a script tag the CSP would refuse
        for violation in page.evaluate(AXE_RUN):
            problems.append((where, f"{role_lang} {size}: axe {violation}"))


def sweep(browser, live, app, role, values, lang):
    """Every page of the role in one language; returns (pages looked at, problems)."""
    context = browser.new_context(viewport=VIEWPORTS[0], locale="zh-CN", is_mobile=True, has_touch=True,
                                  device_scale_factor=2, service_workers="block")
    page = context.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, live.url, ROLE_USER[role])
    problems, looked = [], 0
    for endpoint, url in pages_of(app, role, values):
        response = page.goto(live.url + url)
        where = f"{role} {lang} {url} ({endpoint})"
        assert response.status == 200, f"{where} → {response.status}"
        assert response.headers["content-type"].startswith("text/html"), where
        looked += 1
        page.set_viewport_size(VIEWPORTS[0])
        _look(page, f"{where} 360px", problems, axe=True, lang=lang)
        page.set_viewport_size(VIEWPORTS[1])
        _look(page, f"{where} 320px", problems, axe=False, lang=lang)
        page.set_viewport_size(VIEWPORTS[0])
    problems += [(f"{role} {lang}", f"refused by the CSP: {text}") for text in refused]
    context.close()
    return looked, problems


@pytest.mark.parametrize("role", sorted(ROLE_USER))
def test_every_page_of_the_role_fits_a_phone(browser, live, app, world, role):
    assert AXE.exists(), "axe-core is missing: `make test` copies it from node_modules"
    values = _values(world, role)
    user = world.users[ROLE_USER[role]]
    problems, counts = [], {}
    for lang in ("zh_Hans", "en"):
        user.locale = lang
        db.session.commit()
        counts[lang], found = sweep(browser, live, app, role, values, lang)
        problems += found
    print(f"\nlayout sweep: {role}: {counts['zh_Hans']} pages × 2 sizes × 2 languages")
    assert counts["zh_Hans"] == counts["en"] >= 3
    assert not problems, report(problems)


def test_anonymous_pages_fit_a_phone(browser, live, app, world):
    problems = []
    context = browser.new_context(viewport=VIEWPORTS[0], is_mobile=True, has_touch=True, service_workers="block")
    page = context.new_page()
    for path in ("/login", "/join", "/offline", "/outbox", "/login?lang=en", "/join?lang=en"):
        page.goto(live.url + path)
        page.set_viewport_size(VIEWPORTS[0])
        _look(page, f"anonymous {path} 360px", problems, axe=True)
        page.set_viewport_size(VIEWPORTS[1])
        _look(page, f"anonymous {path} 320px", problems, axe=False)
        page.set_viewport_size(VIEWPORTS[0])
    context.close()
    assert not problems, report(problems)


def test_the_sweep_sees_what_it_looks_for(browser, live, world):
    """The checks themselves: a page made wide, a tall fixed bar, a sixth tab and a wrapped label
    are each reported, and axe reports a serious violation (an image without alt text)."""
    context = browser.new_context(viewport=VIEWPORTS[1], is_mobile=True, service_workers="block")
    page = context.new_page()
    sign_in(page, live.url, "worker1")
    page.goto(live.url + "/settings")
    assert page.evaluate(LOOK, 'zh_Hans') == []
    # this page is in Chinese: looked at as an English page, its tabs are reported
    assert any("in Chinese on an English page" in p for p in page.evaluate(LOOK, "en"))
    page.evaluate("""() => {
      const bar = document.createElement('div'); bar.style.position = 'fixed'; bar.style.top = '0';
      bar.style.left = '0'; bar.style.height = '60px'; bar.style.width = '10px'; document.body.append(bar);
      const nav = document.querySelector('nav.tabs');
      for (let i = 0; i < 6; i++) { const a = document.createElement('a'); a.href = '/'; a.textContent = '很长很长的标签名字'; nav.append(a); }
    }""")
    found = "\n".join(page.evaluate(LOOK, 'zh_Hans'))
    assert "fixed bars cover" in found and "scrolls sideways" not in found
    assert "tabs in the bottom bar" in found
    assert "wraps or is cut" in found
    page.goto(live.url + "/settings")
    page.evaluate("""() => {
      const wide = document.createElement('div'); wide.className = 'probe-wide';
      wide.textContent = 'x'; document.querySelector('main').append(wide); wide.style.width = '330px';
    }""")
    assert [p for p in page.evaluate(LOOK, 'zh_Hans') if "scrolls sideways" in p and "div.probe-wide" in p]
    page.evaluate("document.querySelector('.probe-wide').style.width = '290px'")  # 320 less main's padding
    assert page.evaluate(LOOK, 'zh_Hans') == []
    page.goto(live.url + "/settings")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/icons/icon-192.png\">')")
    problems = []
    _look(page, "worker /settings 360px", problems, axe=True)
    assert any("axe critical image-alt: img" in p for _, p in problems), problems
    context.close()
