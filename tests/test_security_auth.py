"""Issue 9, findings 4, 7, 8 and 9: invitation codes, login throttling, timing, sessions."""
import re
import threading
import time

import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEntry, Invitation, User
from webapp.services import accounts, demo

from .conftest import csrf_from, login

ALPHABET = set("23456789ABCDEFGHJKMNPQRSTUVWXYZ")


def _post_login(client, who, password, **env):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"login": who, "password": password, "csrf_token": token}, **env)


def _actions(action):
    return db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)).all()


# --- F4: invitation codes -------------------------------------------------------------------

def _invite(as_user, world):
    worker = as_user("worker1")
    taken = set(db.session.scalars(select(User.resident_id).where(User.resident_id.is_not(None))))
    household, resident = next((h, link.resident) for h in world.grid1 for link in h.current_residencies
                               if link.resident.id not in taken)
    html = worker.post(f"/households/{household.id}/invite",
                       data={"resident_id": resident.id, "csrf_token": worker.csrf}).get_data(as_text=True)
    return re.search(r'id="invite-code"[^>]*>([^<]+)<', html).group(1)


def test_f4_invitation_code_is_long_and_unambiguous(as_user, world):
    codes = {_invite(as_user, world) for _ in range(5)}
    for code in codes:
        assert len(code) >= 12
        assert set(code) <= ALPHABET  # no 0/O, 1/I/L
    assert len(codes) == 5


def test_f4_join_is_throttled_per_address_and_globally(app, client, world):
    token = csrf_from(client.get("/join").get_data(as_text=True))
    statuses = [client.post("/join", data={"code": f"WRONG{i:07d}", "password": "whatever-123",
                                           "csrf_token": token}).status_code for i in range(25)]
    assert statuses[0] == 400
    assert 429 in statuses  # one address cannot guess on and on
    refused = client.post("/join", data={"code": "X", "password": "whatever-123", "csrf_token": token})
    assert refused.status_code == 429 and "请稍后再试" in refused.get_data(as_text=True)
    # many addresses together are capped too
    saved = app.config["JOIN_GLOBAL_LIMITS"]
    app.config["JOIN_GLOBAL_LIMITS"] = "15 per hour"
    try:
        seen = []
        for i in range(20):
            other = app.test_client()
            t = csrf_from(other.get("/join").get_data(as_text=True))
            seen.append(other.post("/join", data={"code": "NOPE", "password": "whatever-123", "csrf_token": t},
                                   environ_base={"REMOTE_ADDR": f"10.9.0.{i + 1}"}).status_code)
        assert seen[0] == 400 and seen[-1] == 429
    finally:
        app.config["JOIN_GLOBAL_LIMITS"] = saved


def test_f4_every_join_is_audited(app, as_user, world):
    code = _invite(as_user, world)
    c = app.test_client()
    token = csrf_from(c.get("/join").get_data(as_text=True))
    assert c.post("/join", data={"code": "AAAAAAAAAAAA", "password": "whatever-123",
                                 "csrf_token": token}).status_code == 400
    assert c.post("/join", data={"code": code, "password": "whatever-123",
                                 "csrf_token": token}).status_code == 302
    failed, ok = _actions("join_failed"), _actions("join")
    assert len(failed) == 1 and len(ok) == 1
    assert ok[0].user_id is not None and ok[0].address


# --- F7: login throttling ---------------------------------------------------------------------

def test_f7_forty_parallel_guesses_get_at_most_the_limit_of_checks(app, world, monkeypatch):
    import webapp.models.user as user_model
    calls = []
    lock = threading.Lock()

    def counting(original):
        def check(hash_, password):
            with lock:
                calls.append(1)
            return original(hash_, password)
        return check

    monkeypatch.setattr(user_model, "check_password_hash", counting(user_model.check_password_hash))
    if hasattr(accounts, "check_password_hash"):
        monkeypatch.setattr(accounts, "check_password_hash", counting(accounts.check_password_hash))
    clients = []
    for i in range(40):
        c = app.test_client()
        clients.append((c, csrf_from(c.get("/login").get_data(as_text=True)), f"10.1.{i // 200}.{i % 200 + 1}"))
    barrier = threading.Barrier(40)
    statuses = []

    def guess(c, token, addr):
        barrier.wait()
        r = c.post("/login", data={"login": "worker1", "password": "wrong", "csrf_token": token},
                   environ_base={"REMOTE_ADDR": addr})
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=guess, args=args) for args in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(statuses) == 40
    assert len(calls) <= int(app.config["LOGIN_ACCOUNT_LIMITS"].split()[0])


def test_f7_username_and_phone_count_together(client, world):
    phone = world.users["worker1"].phone
    for i in range(5):
        who = "worker1" if i % 2 else phone
        assert "用户名或密码不正确" in _post_login(client, who, "wrong").get_data(as_text=True)
    assert "登录失败次数过多" in _post_login(client, phone, "wrong").get_data(as_text=True)
    assert "登录失败次数过多" in _post_login(client, "worker1", "wrong").get_data(as_text=True)


def test_f7_failures_from_one_address_do_not_lock_out_everyone_behind_it(app, world):
    office = app.test_client()
    for i in range(20):  # four colleagues mistype five times each
        _post_login(office, ("worker1", "leader1", "volunteer1", "admin")[i // 5], "wrong")
    colleague = app.test_client()
    assert _post_login(colleague, "worker2", demo.PASSWORD).status_code == 302


def test_f7_failures_are_audited_and_success_keeps_them(client, world):
    for _ in range(2):
        _post_login(client, "worker1", "wrong")
    _post_login(client, "nobody-here", "wrong")
    assert _post_login(client, "worker1", demo.PASSWORD).status_code == 302
    failed = _actions("login_failed")
    assert len(failed) == 3
    assert failed[0].user_id == world.users["worker1"].id
    assert all(f.address for f in failed)
    # a third failure after the success still counts towards the limit (the record was kept)
    other = client.application.test_client()
    for _ in range(3):
        _post_login(other, "worker1", "wrong")
    assert "登录失败次数过多" in _post_login(other, "worker1", demo.PASSWORD).get_data(as_text=True)


def test_f7_lock_is_a_backoff_not_forever_and_admin_can_unlock(app, as_user, world):
    stranger = app.test_client()
    for _ in range(6):
        r = _post_login(stranger, "admin", "wrong")
    text = r.get_data(as_text=True)
    assert "登录失败次数过多" in text
    minutes = int(re.search(r"请(\d+)分钟后再试", text).group(1))
    assert 1 <= minutes <= 60  # a bounded wait, never a permanent lock


def test_f7_waits_grow_with_more_failures(app, world, monkeypatch):
    """Back-off: a few quick tries, a short wait, then a longer one (tiers read from config)."""
    monkeypatch.setitem(app.config, "LOGIN_ACCOUNT_LIMITS", "3 per 2 seconds;5 per 1 hour")
    c = app.test_client()
    # wait out each short window (a slow machine spreads the tries, so the short window may
    # close more than once) until the hour's window is full
    checked, short_waits, deadline = 0, 0, time.monotonic() + 20
    while True:
        text = _post_login(c, "worker1", "wrong").get_data(as_text=True)
        if "用户名或密码不正确" in text:
            checked += 1
            continue
        wait = int(re.search(r"请(\d+)分钟后再试", text).group(1))
        if wait > 1:
            break
        short_waits += 1
        assert time.monotonic() < deadline, "the short wait never ended"
        time.sleep(0.2)
    assert short_waits >= 1  # a short wait came first
    assert checked == 5
    assert 30 < wait <= 60
    # the right password waits too
    later = _post_login(c, "worker1", demo.PASSWORD).get_data(as_text=True)
    assert "登录失败次数过多" in later and "请1分钟后再试" not in later


def test_f7_admin_unlocks_an_account(app, world):
    admin = app.test_client()
    token = login(admin, "admin")
    stranger = app.test_client()
    for _ in range(6):
        _post_login(stranger, "worker1", "wrong")
    assert "登录失败次数过多" in _post_login(app.test_client(), "worker1", demo.PASSWORD).get_data(as_text=True)
    wid = world.users["worker1"].id
    page = admin.get(f"/admin/users/{wid}/edit").get_data(as_text=True)
    assert f"/admin/users/{wid}/unlock" in page
    assert admin.get(f"/admin/users/{wid}/unlock").status_code in (404, 405)
    assert admin.post(f"/admin/users/{wid}/unlock", data={"csrf_token": token}).status_code == 302
    assert _post_login(app.test_client(), "worker1", demo.PASSWORD).status_code == 302
    assert len(_actions("unlock")) == 1
    # a worker may not unlock anyone
    worker = app.test_client()
    wtoken = login(worker, "worker2")
    assert worker.post(f"/admin/users/{wid}/unlock", data={"csrf_token": wtoken}).status_code == 404


def test_f7_a_known_device_is_not_locked_out_by_strangers(app, world):
    phone = app.test_client()
    token = login(phone, "admin")
    phone.post("/logout", data={"csrf_token": token})
    stranger = app.test_client()
    for _ in range(12):
        _post_login(stranger, "admin", "wrong")
    assert "登录失败次数过多" in _post_login(stranger, "admin", demo.PASSWORD).get_data(as_text=True)
    assert _post_login(phone, "admin", demo.PASSWORD).status_code == 302


def test_f7_trusted_proxy_hops(app, client, world):
    _post_login(client, "worker1", "wrong", headers={"X-Forwarded-For": "203.0.113.9"},
                environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert _actions("login_failed")[-1].address == "127.0.0.1"  # not trusted by default
    app.config["TRUSTED_PROXIES"] = 1
    try:
        _post_login(client, "worker1", "wrong", headers={"X-Forwarded-For": "203.0.113.9"},
                    environ_base={"REMOTE_ADDR": "127.0.0.1"})
    finally:
        app.config["TRUSTED_PROXIES"] = 0
    assert _actions("login_failed")[-1].address == "203.0.113.9"


# --- F8: timing -------------------------------------------------------------------------------

def test_f8_unknown_users_take_as_long_as_known_ones(app, world):
    def timed(who):
        with app.test_request_context("/login", method="POST", environ_base={"REMOTE_ADDR": "10.8.0.1"}):
            start = time.perf_counter()
            with pytest.raises(accounts.AccountError):
                accounts.authenticate(who, "wrong-password", "10.8.0.1")
            return time.perf_counter() - start

    # interleaved, and the fastest of each: a busy machine slows single calls, never speeds them up
    known, unknown = [], []
    for k, u in (("worker1", "ghost1"), ("worker2", "ghost2"), ("leader", "ghost3"), ("worker1", "ghost4")):
        known.append(timed(k))
        unknown.append(timed(u))
    assert min(unknown) > min(known) * 0.5, (known, unknown)


def test_trusted_hops_take_the_address_the_last_trusted_proxy_saw(app, client, world):
    """Two proxies (CDN, then nginx): with 2 hops the client is the address the CDN saw; with 1 hop
    only nginx is trusted, so an address the phone wrote into the header itself is not believed.
    Over HTTPS (X-Forwarded-Proto from a trusted proxy) every cookie is Secure."""
    chain = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https, https",
             "Referer": "https://localhost/login"}  # CSRF over HTTPS checks the referrer
    seen = []
    for hops in (2, 1, 0):
        app.config["TRUSTED_PROXIES"] = hops
        try:
            answer = _post_login(app.test_client(), "worker1", "wrong", headers=chain,
                                 environ_base={"REMOTE_ADDR": "127.0.0.1"})
        finally:
            app.config["TRUSTED_PROXIES"] = 0
        seen.append(_actions("login_failed")[-1].address)
        cookies = answer.headers.getlist("Set-Cookie")
        assert cookies and all(("; Secure" in c) == (hops > 0) for c in cookies), (hops, cookies)
    assert seen == ["198.51.100.7", "203.0.113.9", "127.0.0.1"]


def test_a_new_residents_login_name_is_shown_to_them_and_cannot_be_guessed(app, as_user, world):
    """Found by review: a joining resident got the login name r<their record number>, so anyone could
    list every resident's login name, and the resident was never told it (without a phone number
    they could not sign in again). Now: a random name, shown on the welcome page, that signs in
    (with the spaces it is shown with, too); the demo accounts keep theirs."""
    names = []
    for _ in range(2):
        code = _invite(as_user, world)
        resident_id = db.session.scalar(select(Invitation.resident_id).where(Invitation.code == code))
        c = app.test_client()
        token = csrf_from(c.get("/join").get_data(as_text=True))
        joined = c.post("/join", data={"code": code, "password": "whatever-123", "csrf_token": token})
        welcome = c.get(joined.headers["Location"]).get_data(as_text=True)
        shown = re.search(r'id="login-name"[^>]*>([^<]+)<', welcome)
        assert shown, welcome[:3000]
        name = shown.group(1).strip()
        assert name.replace(" ", "") != f"r{resident_id}"  # the old, listable name
        assert _post_login(app.test_client(), name, "whatever-123").status_code == 302
        names.append(name.replace(" ", ""))
    first, second = names
    assert len(first) >= 10 and len(first) == len(second)
    assert sum(a != b for a, b in zip(first, second)) >= 4  # not a counter: most characters differ
    assert _post_login(app.test_client(), "resident1", demo.PASSWORD).status_code == 302
