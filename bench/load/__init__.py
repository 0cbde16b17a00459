"""Load test: a simulated field day against the production stack on loopback.

    .venv/bin/python -m bench.load [--web-workers 1] [--steps 10,20,40,...] [--profile]

1. seeds a district-like slice on PostgreSQL (--pg, default the worktree's test database; its
   public schema is dropped first) and empties its Redis db (--redis);
2. starts the stack as `make prod` does: `flask linli-keys`, gunicorn with --web-workers workers
   (pinned to CPU 0 with taskset, so 1 worker = 1 core), two RQ workers (`flask linli-worker`,
   whose clocks tick the scheduler), TRUSTED_PROXIES=1 (each phone has its own address);
3. runs locust headless (bench/load/locustfile.py) through increasing user counts, each step
   measured after its warm-up, and prints per endpoint p50/p95/errors for each step;
4. prints the largest number of simulated active grid workers served with p95 < 300 ms (all
   requests except the one-off login), per gunicorn worker (= per core), and what that means in
   real grid workers given the time compression;
   The same figure is also given without GET /today (the slowest page), to show what it costs;
5. with --profile, profiles in-process under cProfile the endpoint with the most server time at
   the last step, and the one with the slowest p95 (if another).
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
P95_TARGET_MS = 300
REAL_SYNC_SECONDS = 300  # a real grid worker's phone syncs every 5 minutes


def parse():
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--web-workers", type=int, default=1, help="gunicorn worker processes (1 = one core)")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread)")
    p.add_argument("--rq-workers", type=int, default=2)
    p.add_argument("--steps", default="2,4,6,9,12,16", help="users per step (grid workers are 20/25)")
    p.add_argument("--step-seconds", type=float, default=25)
    p.add_argument("--warm", type=float, default=8, help="seconds of each step not measured")
    p.add_argument("--cycle", type=float, default=3, help="real seconds per simulated 5 minutes")
    p.add_argument("--today-every", type=int, default=6,
                   help="a worker reopens today's list every N cycles (1 = every cycle: the worst case)")
    p.add_argument("--communities", type=int, default=3, help="demo communities of 4 grids x 450 households")
    p.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test_h15"))
    p.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"))
    p.add_argument("--no-pin", action="store_true", help="do not pin gunicorn to CPU 0")
    p.add_argument("--profile", action="store_true", help="then profile the hottest endpoint (cProfile)")
    p.add_argument("--keep", action="store_true", help="keep the seeded data (else the schema is emptied, so "
                                                       "the test suite can claim its database again)")
    return p.parse_args()


def seed(args, folder):
    import logging
    logging.disable(logging.WARNING)
    import bench.common
    from bench.load import seeding
    bench.common.PG_URL = args.pg
    steps = [int(x) for x in args.steps.split(",")]
    started = time.monotonic()
    with bench.common.fresh_app("postgresql", WTF_CSRF_ENABLED=True):
        fixtures = seeding.seed(communities=args.communities, workers=max(steps), volunteers=max(10, max(steps) // 8),
                                residents=max(20, max(steps) // 5), print_fn=lambda m: print(m, flush=True))
    path = os.path.join(folder, "fixtures.json")
    seeding.write(fixtures, path)
    from redis import Redis
    Redis.from_url(args.redis).flushdb()  # this bench's own Redis db: old rate-limit counts and queues
    s = fixtures["summary"]
    print(f"seeded {s['communities']} communities, {s['grids']} grids, {s['households']} households, "
          f"{len(fixtures['workers'])} worker / {len(fixtures['volunteers'])} volunteer / "
          f"{len(fixtures['residents'])} resident accounts in {time.monotonic() - started:.0f} s", flush=True)
    return path


class Stack:
    def __init__(self, args, folder):
        from tests.livesrv import free_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.folder = folder
        self.env = dict(os.environ, FLASK_APP="webapp", SECRET_KEY="bench-load-secret", DATABASE_URL=args.pg,
                        REDIS_URL=args.redis, TRUSTED_PROXIES="1", LOG_FORMAT="json",
                        WEB_CONCURRENCY=str(args.web_workers), WEB_THREADS=str(args.threads),
                        BIND=f"127.0.0.1:{self.port}")
        self.env.pop("TEST_DATABASE_URL", None)
        self.args = args
        self.procs = []

    def _start(self, name, cmd):
        log = open(os.path.join(self.folder, name + ".log"), "a")
        self.procs.append(subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def start(self):
        import requests
        subprocess.run([os.path.join(BIN, "flask"), "linli-keys"], cwd=ROOT, env=self.env, check=True,
                       capture_output=True)
        web = [os.path.join(BIN, "gunicorn"), "-c", "gunicorn.conf.py", "webapp:create_app()"]
        self.pinned = not self.args.no_pin and shutil.which("taskset") is not None
        if self.pinned:
            web = ["taskset", "-c", "0"] + web
        self._start("web", web)
        for n in range(self.args.rq_workers):
            self._start(f"rq{n + 1}", [os.path.join(BIN, "flask"), "linli-worker"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise SystemExit("the stack did not start; logs in " + self.folder)

    def health(self):
        import requests
        return requests.get(self.url + "/healthz", timeout=5).json()

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def run_locust(args, stack, fixtures, folder):
    out = os.path.join(folder, "steps.json")
    steps = args.steps.split(",")
    env = dict(os.environ, LINLI_LOAD_FIXTURES=fixtures, LINLI_LOAD_OUT=out, LINLI_LOAD_STEPS=args.steps,
               LINLI_LOAD_STEP_SECONDS=str(args.step_seconds), LINLI_LOAD_WARM=str(args.warm),
               LINLI_LOAD_CYCLE=str(args.cycle), LINLI_LOAD_TODAY_EVERY=str(args.today_every))
    cmd = [os.path.join(BIN, "locust"), "-f", os.path.join(ROOT, "bench", "load", "locustfile.py"), "--headless",
           "--host", stack.url, "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    if not stack.pinned or args.no_pin:
        pass
    elif (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", "1"] + cmd  # the load generator off the measured core
    timeout = len(steps) * args.step_seconds + 60
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    for line in result.stdout.splitlines():
        if line.startswith("record kinds served"):
            print(line)
    with open(os.path.join(folder, "locust.log"), "w") as f:
        f.write(result.stdout + result.stderr)
    if not os.path.exists(out):
        raise SystemExit("locust wrote no results; see " + folder + "/locust.log\n" + result.stderr[-2000:])
    with open(out) as f:
        return json.load(f)


def ms(v):
    return "-" if v is None else f"{v:.0f}"


def passes(agg):
    return agg["p95"] is not None and agg["p95"] < P95_TARGET_MS and agg["failures"] <= 0.01 * agg["requests"]


def report(args, results, stack):
    cycle = results["cycle"]
    factor = REAL_SYNC_SECONDS / cycle
    print(f"\ntime compression: one simulated 5-minute cycle every {cycle:g} s, so each real second is "
          f"{factor:g} simulated seconds; one simulated active worker makes the requests of {factor:g} real "
          f"grid workers syncing every 5 minutes")
    print(f"a grid worker's cycle: 1-3 household pages and a sync of 5-20 visits; today's list at login "
          f"and every {args.today_every} cycles")
    print(f"gunicorn: {args.web_workers} worker(s) x {args.threads} threads"
          f"{', pinned to CPU 0 (locust on CPU 1)' if stack.pinned else ''}; {args.rq_workers} RQ workers; "
          f"PostgreSQL and Redis on the same machine (not pinned)\n")
    best = best_without_today = None
    gw = lambda step: step["classes"].get("GridWorker", 0)  # noqa: E731
    for step in results["steps"]:
        agg = step["all_but_login"]
        ok = passes(agg)
        if ok and (best is None or gw(step) > gw(best)):
            best = step
        if passes(step["without_today"]) and (best_without_today is None or gw(step) > gw(best_without_today)):
            best_without_today = step
        classes = ", ".join(f"{k} {v}" for k, v in sorted(step["classes"].items()))
        print(f"== {step['users']} users ({classes}), measured {step['seconds']:.0f} s: "
              f"{agg['requests']} requests, {agg.get('rps', 0):.1f} req/s, p50 {ms(agg['p50'])} ms, "
              f"p95 {ms(agg['p95'])} ms, failures {agg['failures']}  {'OK' if ok else 'over target'}")
        print(f"   {'endpoint':34} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'errors':>7}")
        for name, e in sorted(step["endpoints"].items()):
            print(f"   {name:34} {e['requests']:>8} {ms(e['p50']):>7} {ms(e['p95']):>7} {e['failures']:>7}")
        for err, count in list(step["errors"].items())[:3]:
            print(f"   error x{count}: {err}")
    print()
    for label, step in (("all requests but login", best), ("the same without GET /today", best_without_today)):
        if step is None:
            first = gw(results["steps"][0])
            print(f"p95 < {P95_TARGET_MS} ms over {label}: not reached even at {first} simulated workers "
                  f"(workers per core < {first / args.web_workers:g} simulated = "
                  f"{first * factor / args.web_workers:,.0f} real)")
            continue
        per_core = gw(step) / args.web_workers
        print(f"p95 < {P95_TARGET_MS} ms over {label}: up to {gw(step)} simulated active grid workers on "
              f"{args.web_workers} gunicorn worker(s) = {per_core:g} per core = "
              f"{per_core * factor:,.0f} real grid workers per core (goal 3,000)")
    print(f"WORKERS PER CORE (p95 < {P95_TARGET_MS} ms, all requests but login): "
          f"{gw(best) * factor / args.web_workers if best else 0:,.0f} real grid workers")
    return best


def hottest(steps):
    """The endpoints to profile: the most server time (requests x mean) and the slowest p95."""
    step = steps[-1]
    rows = {k: v for k, v in step["endpoints"].items() if "login" not in k and "session" not in k}
    by_time = max(rows.items(), key=lambda kv: kv[1]["requests"] * kv[1]["mean"])[0]
    by_p95 = max(rows.items(), key=lambda kv: kv[1]["p95"])[0]
    return [by_time] if by_time == by_p95 else [by_time, by_p95]


def profile(args, fixtures_path, endpoint, seconds=8):
    """cProfile around `endpoint` in-process, on the seeded database (no other load)."""
    import cProfile
    import io
    import logging
    import pstats
    import random
    import uuid
    from datetime import datetime, timezone
    logging.disable(logging.WARNING)
    from webapp import create_app
    url = "postgresql+psycopg://" + args.pg.split("://", 1)[1]
    folder = tempfile.mkdtemp(prefix="linli-profile-")
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None,
                      "JOBS_INLINE": True, "RATELIMIT_STORAGE_URI": "memory://"}, instance_path=folder)
    fixtures = json.load(open(fixtures_path))
    pool = {"GET /meals": "volunteers", "GET /me": "residents"}.get(endpoint, "workers")
    if "[delivery]" in endpoint:
        pool = "volunteers"
    account = fixtures[pool][-1]
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert client.post("/login", data={"login": account["username"], "password": fixtures["password"],
                                       "csrf_token": token}).status_code == 302
    csrf = client.get("/api/session").json["csrf_token"]
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def call():
        if endpoint == "GET /households/<id>":
            return client.get(f"/households/{random.choice(account['households'])}")
        if endpoint.startswith("POST /api/sync"):
            batch = [{"uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": now,
                      "payload": {"household_id": random.choice(account["households"]), "mode": "door",
                                  "occurred_at": now}} for _ in range(12)]
            return client.post("/api/sync", json={"records": batch}, headers={"X-CSRFToken": csrf})
        return client.get(endpoint.split(" ", 1)[1])

    for _ in range(3):
        assert call().status_code == 200
    prof = cProfile.Profile()
    started, n = time.perf_counter(), 0
    prof.enable()
    while n < 5 or time.perf_counter() - started < seconds:
        call()
        n += 1
    prof.disable()
    took = (time.perf_counter() - started) / n
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(25)
    print(f"\n== profile of {endpoint} (as {account['username']}), {n} calls in-process, "
          f"{took * 1000:.1f} ms each under cProfile (no other load) ==")
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip())[:6000])
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
    print("-- by own time --")
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip())[:3000])
    from webapp.extensions import db
    with app.app_context():
        db.engine.dispose()


def main():
    args = parse()
    os.chdir(ROOT)
    sys.path.insert(0, ROOT)
    folder = tempfile.mkdtemp(prefix="linli-load-")
    started = time.monotonic()
    print(f"load test: stack logs and results in {folder}", flush=True)
    fixtures = seed(args, folder)
    stack = Stack(args, folder).start()
    try:
        results = run_locust(args, stack, fixtures, folder)
        health = stack.health()
    finally:
        stack.stop()
    best = report(args, results, stack)
    print(f"/healthz after the run: database {health.get('database')}, redis {health.get('redis')}, "
          f"last scheduler tick {health.get('scheduler_age_seconds')} s ago")
    print(f"whole run: {time.monotonic() - started:.0f} s; the machine is shared, so the figures are noisy")
    try:
        if args.profile:
            for endpoint in hottest(results["steps"]):
                profile(args, fixtures, endpoint)
    finally:
        if not args.keep:
            empty(args.pg)


def empty(url):
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
