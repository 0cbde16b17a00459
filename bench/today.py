"""The grid worker's hottest pages on the demo community (~1,800 households, 4 grids; worker1's
grid holds ~450), in-process through the test client, median of 5 after a warm-up:
- GET /today as worker1 (target under 150 ms), with its number of SQL statements;
- GET /households/<id> as worker1, the first household of the list (target under 50 ms), with its
  number of SQL statements.

    .venv/bin/python -m bench.today            (BENCH_PG_URL: the PostgreSQL database to wipe and use)
"""
import statistics
import time
from datetime import datetime

from sqlalchemy import event

from bench.common import backends, fresh_app


def _measure(client, url, runs=5):
    """(median seconds, SQL statements of one request) for GET url."""
    from webapp.extensions import db
    statements = []

    def count(*_a, **_kw):
        statements.append(1)
    assert client.get(url).status_code == 200  # warm-up
    times = []
    for n in range(runs):
        if n == 0:
            event.listen(db.engine, "before_cursor_execute", count)
        t = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - t)
        if n == 0:
            event.remove(db.engine, "before_cursor_execute", count)
        assert response.status_code == 200, url
    return statistics.median(times), len(statements)


def run(backend, app):
    import re
    from webapp import clock
    from webapp.services import demo
    clock.freeze(datetime(2026, 11, 23, 2, 0))  # 10:00 in Beijing
    demo.seed(print_fn=lambda *a: None)
    client = app.test_client()
    response = client.post("/login", data={"login": "worker1", "password": demo.PASSWORD})
    assert response.status_code == 302, response.status_code
    page = client.get("/today").get_data(as_text=True)
    listed = re.findall(r'data-household="(\d+)"', page)
    figures = [(f"GET /today, worker1 ({len(set(listed))} households listed)", *_measure(client, "/today"), 0.15),
               ("GET /households/<id>, worker1", *_measure(client, f"/households/{listed[0]}"), 0.05)]
    for name, seconds, statements, target in figures:
        print(f"  {backend:10} {name:50} {seconds * 1000:8.1f} ms {statements:4} statements  "
              f"(target < {target * 1000:.0f} ms){'' if seconds < target else '  OVER TARGET'}")
    clock.reset()


def main():
    print("issue 16: today's list and the household page")
    for backend in backends():
        with fresh_app(backend, WTF_CSRF_ENABLED=False) as app:
            run(backend, app)


if __name__ == "__main__":
    main()
