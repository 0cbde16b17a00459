"""A simulated field day against the production stack (run by `python -m bench.load`).

Time is compressed: a real grid worker syncs every 5 minutes; here one cycle of a simulated
user lasts CYCLE seconds (LINLI_LOAD_CYCLE, default 3), so each real second stands for 300/CYCLE
simulated seconds and one simulated active worker makes the requests of 300/CYCLE real ones.

- Grid workers log in once and open today's list, then each cycle open a few households and sync
  a batch of 5–20 visit records (client UUIDs) through POST /api/sync; today's list is opened
  again every LINLI_LOAD_TODAY_EVERY cycles (default 6: every 30 simulated minutes).
- Volunteers open their route sheet and record a few meal deliveries.
- Residents open their page, check in, now and then send a request; a few press SOS.

Record kinds: each task that sends records is keyed by its kind and skipped when the server does
not list that kind (the enum of Record.kind in /api/openapi.json). The payloads are all in
PAYLOADS below: the one place to adjust when a kind's shape changes.

Fixtures (accounts and the ids each may touch) come from LINLI_LOAD_FIXTURES (bench/load/seeding.py).
The shape steps through LINLI_LOAD_STEPS users (comma separated), LINLI_LOAD_STEP_SECONDS each; the
first LINLI_LOAD_WARM seconds of a step are not measured. Per-step stats go to LINLI_LOAD_OUT.
"""
import itertools
import json
import os
import random
import urllib.parse
import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from locust import LoadTestShape, constant_pacing, events, task
from locust.contrib.fasthttp import FastHttpUser

CYCLE = float(os.environ.get("LINLI_LOAD_CYCLE", "3"))
# today's list is stored on the phone (offline-first): opened at the start of the day, then
# refreshed every TODAY_EVERY cycles (6 = every 30 simulated minutes); 1 = every cycle (worst case)
TODAY_EVERY = int(os.environ.get("LINLI_LOAD_TODAY_EVERY", "6"))
FIXTURES = json.load(open(os.environ["LINLI_LOAD_FIXTURES"])) if os.environ.get("LINLI_LOAD_FIXTURES") else {}
ZONE = ZoneInfo("Asia/Shanghai")  # the seeded communities' timezone (the default)
SERVED_KINDS = set()  # filled at start from the server's OpenAPI document


def now_utc():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_local():
    return datetime.now(ZONE)


# ---- the payload of each record kind: the ONE place to adjust ----------------------------------
# Each builder gets the simulated user and returns the record's payload (what the phone's form
# would post).
PAYLOADS = {
    "visit": lambda user: {
        "household_id": random.choice(user.households), "mode": random.choice(("door", "door", "phone")),
        "occurred_at": now_utc(), "health": "ok", "safety": random.choice(("ok",) * 9 + ("concern",)),
        "note": random.choice(("", "老人精神不错", "药快吃完了，已提醒子女"))},
    "delivery": lambda user: {
        "recipient_id": random.choice(user.recipients), "day": now_local().date().isoformat(),
        "outcome": "delivered", "occurred_at": now_local().strftime("%Y-%m-%dT%H:%M"), "note": ""},
    # resident's daily check-in (平安打卡, services/checkins.py CheckinKind)
    "checkin": lambda user: {"household_id": user.household, "mode": "self", "note": ""},
    # resident's request (诉求, services/requests.py RequestKind); no photo in the load mix
    "request": lambda user: {
        "category_id": random.choice(user.categories), "household_id": user.household,
        "text": random.choice(("楼道灯坏了，请帮忙修一下", "想预约上门理发", "水管漏水")), "location": ""},
}


def record(kind, user):
    return {"uuid": str(uuid.uuid4()), "kind": kind, "recorded_at": now_utc(), "payload": PAYLOADS[kind](user)}


@events.test_start.add_listener
def _kinds(environment, **_kw):
    """The kinds this server takes: tasks for the others are skipped."""
    import requests
    doc = requests.get(environment.host.rstrip("/") + "/api/openapi.json", timeout=10).json()
    SERVED_KINDS.update(doc["components"]["schemas"]["Record"]["properties"]["kind"]["enum"])
    skipped = sorted(set(PAYLOADS) - SERVED_KINDS)
    print(f"record kinds served: {', '.join(sorted(SERVED_KINDS))}; tasks skipped: {', '.join(skipped) or 'none'}",
          flush=True)


class Phone(FastHttpUser):
    """One phone: logs in once (from its own address, as behind the proxy), keeps its cookies."""
    abstract = True
    wait_time = constant_pacing(CYCLE)
    pool_key = None
    _counters = {}
    _addresses = itertools.count(1)

    def on_start(self):
        pool = FIXTURES[self.pool_key]
        n = next(self._counters.setdefault(self.pool_key, itertools.count()))
        self.account = pool[n % len(pool)]
        a = next(self._addresses)
        self.headers = {"X-Forwarded-For": f"10.{a // 65536 % 256}.{a // 256 % 256}.{a % 256}"}
        self.login()

    def login(self):
        page = self.client.get("/login", headers=self.headers, name="GET /login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        body = urllib.parse.urlencode({"login": self.account["username"], "password": FIXTURES["password"],
                                       "csrf_token": token})
        with self.client.post("/login", data=body, name="POST /login", allow_redirects=False, catch_response=True,
                              headers=dict(self.headers, **{"Content-Type": "application/x-www-form-urlencoded"})) as r:
            if r.status_code != 302:
                r.failure(f"login {self.account['username']}: {r.status_code}")
        self.csrf = self.client.get("/api/session", headers=self.headers, name="GET /api/session").json()["csrf_token"]

    def sync(self, kind, n=1):
        """Send n records of `kind` in one batch; skipped when the server does not list the kind."""
        if kind not in SERVED_KINDS:
            return
        batch = [record(kind, self) for _ in range(n)]
        with self.client.post("/api/sync", json={"records": batch}, name=f"POST /api/sync [{kind}]",
                              headers=dict(self.headers, **{"X-CSRFToken": self.csrf}), catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}")
                return
            rejected = [x for x in r.json()["results"] if x["status"] != "stored"]
            if rejected:
                r.failure(f"{kind} rejected: {rejected[0].get('code')} {rejected[0].get('reason')}")

    def form(self, path, name, fields):
        body = urllib.parse.urlencode(dict(fields, csrf_token=self.csrf))
        return self.client.post(path, data=body, name=name, headers=dict(
            self.headers, **{"Content-Type": "application/x-www-form-urlencoded"}))

    def get(self, path, name):
        return self.client.get(path, name=name, headers=self.headers)


class GridWorker(Phone):
    """网格员: one cycle = 5 simulated minutes in the field."""
    weight = 20
    pool_key = "workers"

    def on_start(self):
        super().on_start()
        self.households = self.account["households"]
        self.cycles = 0

    @task
    def cycle(self):
        if self.cycles % TODAY_EVERY == 0:
            self.get("/today", "GET /today")
        self.cycles += 1
        for hid in random.sample(self.households, random.randint(1, 3)):
            self.get(f"/households/{hid}", "GET /households/<id>")
        self.sync("visit", random.randint(5, 20))


class Volunteer(Phone):
    """志愿者: the route sheet, then the stops just delivered."""
    weight = 2
    pool_key = "volunteers"

    def on_start(self):
        super().on_start()
        self.recipients = self.account["recipients"]

    @task
    def cycle(self):
        self.get("/meals", "GET /meals")
        self.sync("delivery", random.randint(1, 3))


class Resident(Phone):
    """居民: opens the app, checks in; now and then a request; rarely SOS."""
    weight = 3
    pool_key = "residents"

    def on_start(self):
        super().on_start()
        self.household = self.account["household"]
        self.categories = self.account["categories"]

    @task
    def cycle(self):
        self.get("/me", "GET /me")
        self.sync("checkin")
        if random.random() < 0.05:
            self.sync("request")
        if random.random() < 0.01:
            self.form("/sos", "POST /sos", {"uuid": str(uuid.uuid4()), "confirm": "1"})


def snapshot(stats):
    rows = {}
    for (name, method), e in stats.entries.items():
        if e.num_requests:
            rows[name] = {"requests": e.num_requests, "failures": e.num_failures,
                          "p50": e.get_response_time_percentile(0.5), "p95": e.get_response_time_percentile(0.95),
                          "mean": e.avg_response_time}
    total = stats.total
    errors = {f"{e.name}: {e.error}"[:200]: e.occurrences for e in stats.errors.values()}
    return {"endpoints": rows, "errors": errors,
            "all_but_login": _merged(stats, lambda name: "login" not in name and name != "GET /api/session"),
            "without_today": _merged(stats, lambda name: "login" not in name and name not in (
                "GET /api/session", "GET /today")),
            "all": {"requests": total.num_requests, "failures": total.num_failures,
                    "p50": total.get_response_time_percentile(0.5) if total.num_requests else None,
                    "p95": total.get_response_time_percentile(0.95) if total.num_requests else None}}


def _merged(stats, keep):
    from locust.stats import StatsEntry
    merged = StatsEntry(stats, "merged", "", use_response_times_cache=False)
    for (name, _method), e in stats.entries.items():
        if keep(name):
            merged.extend(e)
    if not merged.num_requests:
        return {"requests": 0, "failures": 0, "p50": None, "p95": None}
    return {"requests": merged.num_requests, "failures": merged.num_failures,
            "p50": merged.get_response_time_percentile(0.5), "p95": merged.get_response_time_percentile(0.95),
            "rps": merged.num_requests / max(1e-9, (merged.last_request_timestamp or 0) - merged.start_time)}


class Steps(LoadTestShape):
    """Increasing user counts; each step is measured after its warm-up."""
    steps = [int(x) for x in os.environ.get("LINLI_LOAD_STEPS", "10,20").split(",")]
    seconds = float(os.environ.get("LINLI_LOAD_STEP_SECONDS", "25"))
    warm = float(os.environ.get("LINLI_LOAD_WARM", "8"))

    def __init__(self):
        super().__init__()
        self.results = []
        self.measuring = None

    def _close(self):
        if self.measuring is not None:
            counts = dict(self.runner.user_classes_count)
            self.results.append({"users": self.steps[self.measuring], "classes": counts,
                                 "seconds": self.get_run_time() - self.measure_start,
                                 **snapshot(self.runner.stats)})
            with open(os.environ.get("LINLI_LOAD_OUT", "/dev/null"), "w") as f:
                json.dump({"cycle": CYCLE, "steps": self.results}, f)
            self.measuring = None

    def tick(self):
        t = self.get_run_time()
        step = int(t // self.seconds)
        if self.measuring is not None and step != self.measuring:
            self._close()
        if step >= len(self.steps):
            return None
        if self.measuring is None and t - step * self.seconds >= self.warm:
            self.runner.stats.reset_all()
            self.measuring, self.measure_start = step, t
        users = self.steps[step]
        return users, max(5, users)  # the step's users arrive within about a second
