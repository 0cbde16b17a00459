"""The job mode `make run` uses: no Redis and JOBS_INLINE off, so jobs run in a thread
of the web process. An import runs there with visible progress, and a push fan-out
reaches the phones. (The rest of the suite runs jobs inline, and RQ in the Redis run.)"""
import threading
import time

import pytest

from webapp.services import alerts, importer, jobs

from .test_import import _counts, _good_rows, _upload, _xlsx
from .test_push import pushsvc, subscribe  # noqa: F401  (fixture)


@pytest.fixture
def thread_mode(app, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    yield
    for t in threading.enumerate():  # leave no job running into the next test
        if t.name.startswith("job:"):
            t.join(30)


def job_threads(path):
    return [t for t in threading.enumerate() if t.name == f"job:{path}"]


def wait_until(predicate, timeout=30, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_import_runs_in_a_thread_with_progress(app, as_user, world, thread_mode, monkeypatch):
    monkeypatch.setattr(importer, "CHUNK", 5)
    release = threading.Event()
    seen = []
    real = jobs.set_progress

    def set_progress(key, **values):
        real(key, **values)
        seen.append((threading.current_thread().name, values))
        if values["status"] == "running" and 0 < values["done"] < values["total"]:
            release.wait(30)  # hold the job mid-way so the page can be read while it runs

    monkeypatch.setattr(jobs, "set_progress", set_progress)
    admin = as_user("admin")
    token = _upload(admin, _xlsx(_good_rows(12))).headers["Location"].rsplit("/", 1)[1]
    before = _counts()
    response = admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    assert response.status_code == 302, response.status_code
    assert job_threads("webapp.services.importer:run"), "the import did not start a job thread"
    page = wait_until(lambda: (lambda html: "正在导入" in html and "5 / 12" in html and html)(
        admin.get(f"/admin/import/{token}/progress").get_data(as_text=True)), what="progress 5 / 12")
    assert "导入完成" not in page
    assert _counts() == before  # one transaction: nothing visible mid-way
    release.set()
    html = wait_until(lambda: (lambda h: "导入完成" in h and h)(
        admin.get(f"/admin/import/{token}/progress").get_data(as_text=True)), what="import done")
    assert "12" in html
    assert _counts()[1] == before[1] + 12
    ran_in = {name for name, _v in seen[1:]}
    assert ran_in == {"job:webapp.services.importer:run"}, ran_in
    done = [v["done"] for _n, v in seen[1:]]
    assert done == sorted(done) and done[-1] == 12 and seen[-1][1]["status"] == "done"


def test_push_fan_out_runs_in_a_thread(as_user, world, pushsvc, thread_mode):  # noqa: F811
    phone, other = pushsvc.new_subscriber(), pushsvc.new_subscriber()
    assert subscribe(as_user("worker1"), phone).status_code == 200
    subscribe(as_user("worker2"), other)  # grid 2: must not be told
    alert = alerts.raise_alert("worker", world.grid1[0], raised_by=world.users["leader1"], note="摔倒")
    assert pushsvc.wait_for(1)
    for t in job_threads("webapp.services.push:fan_out"):
        t.join(30)  # the fan-out has finished: now nothing more can arrive
    assert not pushsvc.errors, pushsvc.errors
    assert [t for t, _p, _h in pushsvc.received] == [phone.endpoint.rsplit("/", 1)[1]]
    assert pushsvc.received[0][1]["url"] == f"/alerts/{alert.id}"
