"""准备离线 on a slow network, measured in Chromium: a 500-household grid, CDP
Network.emulateNetworkConditions at 400 kbit/s down (and up) with 400 ms latency.

Prints bytes on the wire (CDP encodedDataLength: headers + body as sent, compressed if the
server compressed it) and seconds for
- worker1's first page after signing in (the /today document);         target <= 35 KB
- the first 准备离线 (versions + bundles of household fragments);       target <= 300 KB, <= 10 s
- a refresh with nothing changed (one conditional request: 304);      target <= 20 KB, <= 2 s
Compression is Flask-Compress, added on its own branch. When the app does not compress, the
bench puts a stand-in gzip middleware in front of the app (compressible types only) and says so,
and prints the figures as measured either way."""
import gzip
import logging
import shutil
import time

from bench.common import fresh_app

KBIT = 1000 / 8  # bytes per second in one kbit/s
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


class Wire:
    """Bytes the page received, from CDP's Network domain."""

    def __init__(self, cdp):
        self.total = 0
        self.by_url = {}
        self.encoding = {}
        self._urls = {}
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)

    def _response(self, event):
        response = event["response"]
        self._urls[event["requestId"]] = response["url"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        self.encoding[response["url"]] = headers.get("content-encoding", "none")

    def _finished(self, event):
        url = self._urls.get(event["requestId"], "?")
        self.total += event["encodedDataLength"]
        self.by_url[url] = self.by_url.get(url, 0) + event["encodedDataLength"]

    def mark(self):
        return self.total


class GzipStandIn:
    """Until Flask-Compress is in: gzip text, JSON and JS answers the client accepts gzipped."""
    TYPES = ("text/", "application/json", "application/javascript", "application/manifest+json")

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if "gzip" not in environ.get("HTTP_ACCEPT_ENCODING", ""):
            return self.app(environ, start_response)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None
        body = b"".join(self.app(environ, capture))
        headers = captured["headers"]
        kind = next((v for k, v in headers if k.lower() == "content-type"), "")
        if body and kind.startswith(self.TYPES) and not captured["status"].startswith("304"):
            body = gzip.compress(body, 6)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(body))), ("Vary", "Accept-Encoding")]
        start_response(captured["status"], headers)
        return [body]


def verdict(value, target):
    return "OK" if value <= target else "OVER"


def main():
    logging.disable(logging.WARNING)
    from playwright.sync_api import sync_playwright

    from tests.livesrv import LiveServer
    from webapp.services import demo
    chromium = shutil.which("chromium")
    if not chromium:
        print("  chromium is missing: skipped")
        return
    with fresh_app("sqlite", WTF_CSRF_ENABLED=False) as app:
        demo.seed(households_per_building=50, buildings_per_grid=10, print_fn=lambda *a: None)
        probe = app.test_client().get("/manifest.webmanifest", headers={"Accept-Encoding": "br, gzip"})
        if probe.headers.get("Content-Encoding"):
            print(f"  compression: the app's own ({probe.headers['Content-Encoding']})")
        else:
            app.wsgi_app = GzipStandIn(app.wsgi_app)
            print("  compression: the app does not compress on this branch (Flask-Compress comes with h5's); "
                  "a stand-in gzip middleware")
        server = LiveServer(app).start()
        slow = {"offline": False, "latency": 400, "downloadThroughput": 400 * KBIT, "uploadThroughput": 400 * KBIT}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)

                def signed_in(**options):
                    ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                              timezone_id="Asia/Shanghai", **options)
                    page = ctx.new_page()
                    cdp = ctx.new_cdp_session(page)
                    cdp.send("Network.enable")
                    cdp.send("Network.emulateNetworkConditions", slow)
                    wire = Wire(cdp)
                    page.goto(server.url + "/login")
                    page.fill("input[name=login]", "worker1")
                    page.fill("input[name=password]", demo.PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_url("**/today", timeout=120000)
                    page.wait_for_load_state("load")
                    return ctx, page, wire

                # the first page as the network carries it (no service worker in between)
                ctx, page, wire = signed_in(service_workers="block")
                first_page = wire.by_url.get(server.url + "/today", 0)
                print(f"worker1's first page (/today document): {first_page / 1024:.1f} KB on the wire "
                      f"[{wire.encoding.get(server.url + '/today')}]  target <= 35 KB  "
                      f"{verdict(first_page, 35 * 1024)}")
                ctx.close()
                ctx, page, wire = signed_in()
                # the pages stored in the background after sign-in (home, shell, grids, search, settings)
                # polled with evaluate(): the app's CSP forbids the eval that wait_for_function needs
                deadline = time.monotonic() + 300
                while not page.evaluate("localStorage.getItem('linli-essentials') !== null"):
                    if time.monotonic() > deadline:
                        raise SystemExit("the pages were not stored in 300 s")
                    time.sleep(0.1)
                page.wait_for_timeout(500)
                households = page.evaluate("fetch('/offline/versions.json').then(r => r.json())"
                                           ".then(d => Object.keys(d.households).length)")
                for label, target_bytes, target_s in (("first 准备离线", 300 * 1024, 10),
                                                      ("refresh, nothing changed", 20 * 1024, 2)):
                    before = wire.mark()
                    started = time.monotonic()
                    page.click("#prepare-offline")
                    page.wait_for_selector("#prepare-status[data-done='1']", timeout=600000)
                    seconds = time.monotonic() - started
                    size = wire.mark() - before
                    page.wait_for_timeout(200)
                    print(f"{label} for {households} households: {size / 1024:.1f} KB on the wire, {seconds:.1f} s  "
                          f"targets <= {target_bytes // 1024} KB {verdict(size, target_bytes)}, "
                          f"<= {target_s} s {verdict(seconds, target_s)}")
                encodings = {v for u, v in wire.encoding.items() if "/offline/bundle" in u}
                print(f"  bundles sent with Content-Encoding: {', '.join(sorted(encodings)) or '?'}")
                browser.close()
        finally:
            server.stop()
        # reference: the same answers gzipped (what Flask-Compress makes of them)
        client = app.test_client()
        client.post("/login", data={"login": "worker1", "password": demo.PASSWORD})
        today = client.get("/today").data
        versions = client.get("/offline/versions.json")
        ids = [u.rsplit("/", 1)[1] for u in versions.json["households"]]
        bundles = [client.get("/offline/bundle?ids=" + ",".join(ids[i:i + 100])).data for i in range(0, len(ids), 100)]
        raw = len(versions.data) + sum(map(len, bundles))
        zipped = len(gzip.compress(versions.data)) + sum(len(gzip.compress(b)) for b in bundles)
        print(f"  for reference, gzipped: /today {len(gzip.compress(today)) / 1024:.1f} KB "
              f"(raw {len(today) / 1024:.1f}); 准备离线 {zipped / 1024:.0f} KB (raw {raw / 1024:.0f})")


if __name__ == "__main__":
    main()
