"""The scheduler: named sweeps under one lock, so several processes tick once; when
each sweep and the tick last completed is kept; hourly sweeps survive restarts."""
import os
import threading
from datetime import datetime, timedelta

import pytest

from webapp import clock
from webapp.extensions import db
from webapp.models import SweepRun
from webapp.services import scheduler

T0 = datetime(2026, 11, 22, 2, 0)


def in_thread(app, fn, results, key):
    def run():
        with app.app_context():
            try:
                results[key] = fn()
            except Exception as exc:  # reported to the test, not swallowed
                results[key] = exc
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def recording_sweeps(calls, gate=None, entered=None):
    def make(name, blocking=False):
        def run():
            calls.append(name)
            if blocking:
                entered.set()
                assert gate.wait(20), "the test never released the first tick"
            return 1
        return scheduler.Sweep(name, run)
    return [make("urgent_visits", blocking=gate is not None), make("escalations"), make("overdue_scan")]


def test_two_ticks_at_once_run_each_sweep_once(app, monkeypatch):
    clock.freeze(T0)
    calls, gate, entered = [], threading.Event(), threading.Event()
    monkeypatch.setattr(scheduler, "SWEEPS", recording_sweeps(calls, gate, entered))
    results = {}
    first = in_thread(app, scheduler.tick, results, "first")
    assert entered.wait(20)  # the first tick is inside its first sweep, holding the lock
    second = in_thread(app, scheduler.tick, results, "second")
    second.join(20)
    assert not second.is_alive() and results["second"] is None  # skipped: another process is ticking
    gate.set()
    first.join(20)
    assert results["first"] == {"urgent_visits": 1, "escalations": 1, "overdue_scan": 1}
    assert sorted(calls) == ["escalations", "overdue_scan", "urgent_visits"]
    # once the first is done, the next tick runs again
    gate.set()
    assert scheduler.tick() is not None
    assert len(calls) == 6


def test_the_last_completed_tick_is_recorded_and_reported(app, client, monkeypatch):
    clock.freeze(T0)
    assert scheduler.last_tick_at() is None
    assert client.get("/healthz").json["scheduler_last_tick"] is None
    scheduler.tick()
    assert scheduler.last_tick_at() == T0
    clock.advance(timedelta(seconds=90))
    health = client.get("/healthz").json
    assert health["scheduler_last_tick"] == "2026-11-22T02:00:00Z" and health["scheduler_age_seconds"] == 90
    scheduler.tick()
    assert scheduler.last_tick_at() == T0 + timedelta(seconds=90)
    names = {r.name for r in db.session.query(SweepRun)}
    assert names == {"tick", "urgent_visits", "checkins", "meal_no_answers", "meal_closed_routes", "escalations",
                     "request_deadlines", "overdue_scan"}


def test_hourly_sweep_runs_hourly_whichever_process_ticks(app, monkeypatch):
    clock.freeze(T0)
    calls = []
    sweeps = recording_sweeps(calls)
    sweeps[2] = scheduler.Sweep("overdue_scan", lambda: calls.append("overdue_scan") or 0, every=3600)
    monkeypatch.setattr(scheduler, "SWEEPS", sweeps)
    scheduler.tick()
    clock.advance(timedelta(minutes=59, seconds=59))
    scheduler.tick()
    assert calls.count("overdue_scan") == 1 and calls.count("escalations") == 2
    clock.advance(timedelta(seconds=1))
    scheduler.tick()
    assert calls.count("overdue_scan") == 2


def test_a_failing_sweep_does_not_stop_the_others_and_is_retried(app, monkeypatch):
    clock.freeze(T0)
    calls = []
    broken = {"on": True}

    def flaky():
        calls.append("flaky")
        if broken["on"]:
            raise RuntimeError("database hiccup")
        return 0
    monkeypatch.setattr(scheduler, "SWEEPS", [scheduler.Sweep("flaky", flaky, every=3600),
                                              scheduler.Sweep("after", lambda: calls.append("after") or 0)])
    assert scheduler.tick() == {"flaky": "failed", "after": 0}
    assert db.session.get(SweepRun, "flaky") is None  # not recorded as completed
    clock.advance(timedelta(seconds=15))
    broken["on"] = False
    assert scheduler.tick() == {"flaky": 0, "after": 0}  # retried at the next tick, not an hour later
    assert calls == ["flaky", "after", "flaky", "after"]


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_redis_lock_is_held_by_one_at_a_time(app):
    url = os.environ["REDIS_URL"]
    with scheduler.redis_lock(url) as first:
        with scheduler.redis_lock(url) as second:
            assert first is True and second is False
    with scheduler.redis_lock(url) as again:
        assert again is True


def test_file_lock_excludes_a_second_holder(tmp_path):
    path = str(tmp_path / "lock")
    with scheduler.file_lock(path) as first:
        with scheduler.file_lock(path) as second:
            assert first is True and second is False
    with scheduler.file_lock(path) as again:
        assert again is True
