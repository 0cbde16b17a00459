"""Operations: keys created once across processes, JSON logs with request ids, and the
backup/restore drill (PostgreSQL)."""
import json
import logging
import multiprocessing
import os
import uuid

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Visit
from webapp.ops import backup, logs
from webapp.ops.secrets import create_once
from webapp.services import records

from .conftest import PG, small_demo


def _race(path, barrier, out, n):
    barrier.wait()
    out.put(create_once(path, lambda: os.urandom(32) + str(n).encode()))


def test_a_key_is_created_once_when_processes_race(tmp_path):
    path = str(tmp_path / "vapid_private.pem")
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(8), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(path, barrier, out, n)) for n in range(8)]
    for p in procs:
        p.start()
    keys = {out.get(timeout=30) for _ in procs}
    for p in procs:
        p.join(timeout=30)
    assert len(keys) == 1, "racing processes made different keys"
    with open(path, "rb") as f:
        assert f.read() == keys.pop()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".new-")], "temporary files left behind"


def test_every_request_has_an_id_in_its_json_log_line(app, client, capsys):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.configure()
    try:
        mine = client.get("/healthz", headers={"X-Request-ID": "proxy-req-0001"})
        fresh = client.get("/healthz")
        bogus = client.get("/healthz", headers={"X-Request-ID": "x\"; DROP"})
    finally:
        root.handlers[:], _ = saved[0], root.setLevel(saved[1])
    assert mine.headers["X-Request-ID"] == "proxy-req-0001"
    assert fresh.headers["X-Request-ID"] and fresh.headers["X-Request-ID"] != "proxy-req-0001"
    assert bogus.headers["X-Request-ID"] != "x\"; DROP"
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [entry for entry in lines if entry.get("name") == "linli.access"]
    ids = [entry["request_id"] for entry in access]
    assert ids == [mine.headers["X-Request-ID"], fresh.headers["X-Request-ID"], bogus.headers["X-Request-ID"]]
    assert all(entry["path"] == "/healthz" and entry["status"] == 200 for entry in access)


@pytest.mark.skipif(not PG, reason="backup and restore are for PostgreSQL")
def test_restore_drill(app, tmp_path):
    world = small_demo()
    worker = world.users["worker1"]
    sent = [str(uuid.uuid4()) for _ in range(25)]
    for u in sent:
        answer = records.ingest_one(worker, "visit", u, {"household_id": world.grid1[0].id, "mode": "door",
                                                         "occurred_at": "2026-01-05T10:00"})
        assert answer["status"] == "stored"
    uploads = backup.upload_folder(app)
    os.makedirs(os.path.join(uploads, "requests"), exist_ok=True)
    with open(os.path.join(uploads, "requests", "photo.jpg"), "wb") as f:
        f.write(b"\xff\xd8 a photo")
    before = backup.row_counts()
    db.session.commit()
    db.session.remove()

    backup.backup(app, str(tmp_path / "b"))
    with db.engine.begin() as conn:  # disaster: the tables and the photos are gone
        conn.exec_driver_sql("DROP TABLE visit CASCADE")
        conn.exec_driver_sql("DELETE FROM alert_event")
    os.remove(os.path.join(uploads, "requests", "photo.jpg"))

    backup.restore(app, str(tmp_path / "b"))
    db.session.remove()
    assert backup.row_counts() == before
    assert set(db.session.scalars(select(Visit.uuid))) >= set(sent)
    with open(os.path.join(uploads, "requests", "photo.jpg"), "rb") as f:
        assert f.read() == b"\xff\xd8 a photo"


def test_backup_refuses_sqlite(app, tmp_path):
    if PG:
        pytest.skip("SQLite only")
    with pytest.raises(backup.BackupError):
        backup.backup(app, str(tmp_path / "b"))


def test_healthz_reports_redis_and_fails_when_it_is_down(app, client):
    """A proxy's health check takes a process out when its Redis is gone (jobs, limits, clock)."""
    saved = app.config.get("REDIS_URL")
    try:
        app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
        down = client.get("/healthz")
        assert down.status_code == 503 and down.json["redis"].startswith("error")
        assert down.json["database"] == "ok"
        app.config["REDIS_URL"] = None
        embedded = client.get("/healthz")
        assert embedded.status_code == 200 and embedded.json["redis"] == "not used"
        if os.environ.get("REDIS_URL"):
            app.config["REDIS_URL"] = os.environ["REDIS_URL"]
            up = client.get("/healthz")
            assert up.status_code == 200 and up.json["redis"] == "ok"
    finally:
        app.config["REDIS_URL"] = saved


HIT_SCRIPT = """
import sys, tempfile
from webapp import create_app
from webapp.services import throttle
app = create_app({"SECRET_KEY": "x", "REDIS_URL": sys.argv[1],
                  "SQLALCHEMY_DATABASE_URI": "sqlite:///" + tempfile.mkdtemp() + "/t.sqlite"},
                 instance_path=tempfile.mkdtemp())
with app.test_request_context():
    print(" ".join(str(throttle.hit("LOGIN_ACCOUNT_LIMITS", sys.argv[2])) for _ in range(3)))
"""


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis")
def test_rate_limits_are_shared_by_processes_through_redis(tmp_path):
    """REDIS_URL alone (no RATELIMIT_STORAGE_URI) puts the limits in Redis: a second app process
    sees the first one's tries, so adding gunicorn workers or hosts does not multiply the budget."""
    import subprocess
    import sys
    key = "proc-test-" + uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k not in ("RATELIMIT_STORAGE_URI", "REDIS_URL", "DATABASE_URL")}
    runs = [subprocess.run([sys.executable, "-c", HIT_SCRIPT, os.environ["REDIS_URL"], key], env=env,
                           capture_output=True, text=True, timeout=60, cwd=os.path.dirname(os.path.dirname(__file__)))
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:]
    first, second = (r.stdout.split() for r in runs)
    assert first == ["0", "0", "0"]  # 5 per 5 minutes: three allowed
    assert second[:2] == ["0", "0"] and int(second[2]) > 0, "the second process did not see the first one's tries"
