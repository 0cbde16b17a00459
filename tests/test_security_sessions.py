"""Issue 9, finding 9 (sessions and passwords) and issue 14's reset code and unlock."""
import re
from datetime import timedelta

from sqlalchemy import select

from webapp import clock
from webapp.extensions import db
from webapp.models import User
from webapp.services import accounts, demo

from .conftest import csrf_from, login


def _post_login(client, who, password, **kw):
    token = csrf_from(client.get("/login", **kw).get_data(as_text=True))
    return client.post("/login", data={"login": who, "password": password, "csrf_token": token}, **kw)


def _signed_in(client):
    return client.get("/grids").status_code == 200


def _admin_edit(admin, token, user, **fields):
    data = {"csrf_token": token, "name": user.name, "role": user.role, "phone": user.phone or "",
            "active": "1", "grid": [a.grid_id for a in user.assignments]}
    data.update(fields)
    return admin.post(f"/admin/users/{user.id}/edit", data=data)


def test_f9_admin_password_reset_ends_the_users_sessions(app, world):
    worker = app.test_client()
    login(worker, "worker1")
    remember = worker.get_cookie("remember_token").value
    assert _signed_in(worker)
    admin = app.test_client()
    token = login(admin, "admin")
    assert _admin_edit(admin, token, world.users["worker1"], password="Fresh-start-2026").status_code == 302
    assert not _signed_in(worker)
    thief = app.test_client()
    thief.set_cookie("remember_token", remember)
    assert not _signed_in(thief)
    assert _post_login(app.test_client(), "worker1", "Fresh-start-2026").status_code == 302


def test_f9_user_changes_own_password_and_other_sessions_end(app, world):
    phone, laptop = app.test_client(), app.test_client()
    token = login(phone, "worker1")
    login(laptop, "worker1")
    assert "/password" in phone.get("/settings").get_data(as_text=True)
    wrong = phone.post("/password", data={"csrf_token": token, "current_password": "nope",
                                          "new_password": "Quiet-river-88", "confirm": "Quiet-river-88"})
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    assert _signed_in(laptop)
    ok = phone.post("/password", data={"csrf_token": token, "current_password": demo.PASSWORD,
                                       "new_password": "Quiet-river-88", "confirm": "Quiet-river-88"})
    assert ok.status_code == 302
    assert _signed_in(phone)  # this session stays
    assert not _signed_in(laptop)  # the other one ended
    assert _post_login(app.test_client(), "worker1", demo.PASSWORD).status_code == 400
    assert _post_login(app.test_client(), "worker1", "Quiet-river-88").status_code == 302


def test_f9_idle_timeout_and_absolute_lifetime(app, world):
    idle = app.test_client()
    login(idle, "worker1")
    clock.advance(timedelta(hours=app.config["SESSION_IDLE_HOURS"] + 1))
    assert not _signed_in(idle)
    clock.reset()
    busy = app.test_client()
    login(busy, "worker2")
    step = timedelta(hours=app.config["SESSION_IDLE_HOURS"] / 2)
    elapsed = timedelta()
    while elapsed < timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"]) - step:
        clock.advance(step)
        elapsed += step
        assert _signed_in(busy), elapsed  # used every day: still signed in
    clock.advance(step * 2)
    assert not _signed_in(busy)  # but never past the absolute lifetime


def test_f9_cookies_are_secure_over_https(app, world):
    c = app.test_client()
    r = _post_login(c, "worker1", demo.PASSWORD, base_url="https://linli.example",
                    headers={"Referer": "https://linli.example/login"})
    assert r.status_code == 302
    cookies = r.headers.getlist("Set-Cookie")
    assert any(x.startswith("session=") for x in cookies)
    assert all("Secure" in x for x in cookies), cookies
    plain = _post_login(app.test_client(), "worker2", demo.PASSWORD)
    assert not any("Secure" in x for x in plain.headers.getlist("Set-Cookie"))


def test_f9_session_token_is_random_from_creation(app, world):
    a = accounts.create_user(world.users["admin"].community, "newbie1", "新人一", "worker", "Long-enough-pw1")
    b = accounts.create_user(world.users["admin"].community, "newbie2", "新人二", "worker", "Long-enough-pw1")
    db.session.commit()
    assert a.session_token != "0" and b.session_token != "0"
    assert a.session_token != b.session_token and len(a.session_token) >= 16
    # a forged remember-me cookie "id:0" for a fresh account does not sign in
    forger = app.test_client()
    forger.set_cookie("remember_token", f"{a.id}:0")
    assert not _signed_in(forger)


def test_f9_staff_passwords_are_long_and_not_common(app, world):
    admin = app.test_client()
    token = login(admin, "admin")
    for bad in ("short1!", "abcd12345", "password123", "1234567890"):
        r = admin.post("/admin/users/new", data={"csrf_token": token, "username": "nw", "name": "新人",
                                                  "role": "worker", "password": bad})
        assert r.status_code == 400, bad
    assert db.session.scalar(select(User).where(User.username == "nw")) is None
    r = admin.post("/admin/users/new", data={"csrf_token": token, "username": "nw", "name": "新人",
                                              "role": "worker", "password": "Tea-garden-42"})
    assert r.status_code == 302
    # and a user choosing their own
    worker = app.test_client()
    wt = login(worker, "worker1")
    r = worker.post("/password", data={"csrf_token": wt, "current_password": demo.PASSWORD,
                                       "new_password": "qwertyuiop", "confirm": "qwertyuiop"})
    assert r.status_code == 400 and "太常见" in r.get_data(as_text=True)


def test_f9_one_time_reset_code_then_new_password(app, world):
    admin = app.test_client()
    token = login(admin, "admin")
    worker = app.test_client()
    login(worker, "worker1")
    wid = world.users["worker1"].id
    page = admin.post(f"/admin/users/{wid}/reset-code", data={"csrf_token": token})
    assert page.status_code == 200
    code = re.search(r'id="reset-code">([^<]+)<', page.get_data(as_text=True)).group(1)
    assert len(code) >= 10
    assert not _signed_in(worker)  # sessions ended
    fresh = app.test_client()
    r = _post_login(fresh, "worker1", code)
    assert r.status_code == 302 and r.headers["Location"].endswith("/password")
    assert fresh.get("/grids").headers["Location"].endswith("/password")  # must set a password first
    ftoken = csrf_from(fresh.get("/password").get_data(as_text=True))
    r = fresh.post("/password", data={"csrf_token": ftoken, "new_password": "Paper-lantern-7",
                                      "confirm": "Paper-lantern-7"})
    assert r.status_code == 302
    assert _signed_in(fresh)
    assert _post_login(app.test_client(), "worker1", code).status_code == 400  # used once
    assert _post_login(app.test_client(), "worker1", "Paper-lantern-7").status_code == 302
    # another community's admin cannot issue codes for this user; nor can a worker
    w2 = app.test_client()
    t2 = login(w2, "worker2")
    assert w2.post(f"/admin/users/{wid}/reset-code", data={"csrf_token": t2}).status_code == 404


def test_guessing_the_current_password_on_an_open_session_is_throttled(app, world):
    """A phone left signed in: whoever holds it may not try password after password on 修改密码.
    After five wrong tries even the right one is refused for a while, and nothing changes."""
    phone = app.test_client()
    token = login(phone, "worker1")
    for guess in ("123456", "password", "linli123", "worker1", "qwerty"):
        wrong = phone.post("/password", data={"csrf_token": token, "current_password": guess,
                                              "new_password": "Quiet-river-88", "confirm": "Quiet-river-88"})
        assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    right = phone.post("/password", data={"csrf_token": token, "current_password": demo.PASSWORD,
                                          "new_password": "Quiet-river-88", "confirm": "Quiet-river-88"})
    assert right.status_code == 400 and "尝试次数过多" in right.get_data(as_text=True)
    assert _post_login(app.test_client(), "worker1", demo.PASSWORD).status_code == 302  # unchanged
