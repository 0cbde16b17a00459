"""Bytes on the wire, gzipped:
- the first visit (the login page's HTML + CSS + JS, service worker included); target under 60 KB;
- what 准备离线 downloads for a 500-household grid; target under 1 MB."""
import gzip
import logging
import os
import re

from bench.common import fresh_app

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def gz(data):
    return len(gzip.compress(data, 6))


def first_visit(client):
    html = client.get("/login").data
    assets = re.findall(r'(?:href|src)="(/(?:static|i18n)/[^"]+\.(?:css|js))"', html.decode())
    parts = {"/login": gz(html)}
    for url in assets + ["/service-worker.js"]:
        response = client.get(url)
        assert response.status_code == 200, url
        parts[url] = gz(response.data)
        response.close()
    return parts


def prepare_offline(client):
    """What the 准备离线 button fetches: the stored pages, the household versions, then the
    household fragments in bundles of 100."""
    manifest = client.get("/offline/manifest.json")
    total = gz(manifest.data)
    pages = ["/shell", *manifest.json["pages"]]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        total += gz(response.data)
    versions = client.get(manifest.json["households"])
    total += gz(versions.data)
    ids = [u.rsplit("/", 1)[1] for u in versions.json["households"]]
    bundles = 0
    for i in range(0, len(ids), 100):
        response = client.get("/offline/bundle?ids=" + ",".join(ids[i:i + 100]))
        assert response.status_code == 200, response.status_code
        total += gz(response.data)
        bundles += 1
    return total, len(pages) + bundles + 2, len(ids)


def main():
    logging.disable(logging.WARNING)
    from webapp.services import demo
    with fresh_app("sqlite", WTF_CSRF_ENABLED=False) as app:
        demo.seed(households_per_building=50, buildings_per_grid=10, print_fn=lambda *a: None)
        client = app.test_client()
        parts = first_visit(client)
        total = sum(parts.values())
        detail = ", ".join(f"{k.rsplit('/', 1)[-1]} {v / 1024:.1f}" for k, v in parts.items())
        print(f"first visit (HTML + CSS + JS, gzipped): {total / 1024:.1f} KB  target < 60 KB  [{detail}]")
        client.post("/login", data={"login": "worker1", "password": demo.PASSWORD})
        size, count, households = prepare_offline(client)
        print(f"准备离线 for a {households}-household grid: {size / 1024:.0f} KB in {count} requests "
              f"({size / max(households, 1) / 1024:.2f} KB per household)  target < 1 MB (1024 KB)")


if __name__ == "__main__":
    main()
