from datetime import timedelta


from .conftest import csrf_from, login


def _post_login(client, who, password):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"login": who, "password": password, "csrf_token": token})


def test_login_by_username_and_by_phone(client, world):
    assert _post_login(client, "worker1", "linli-demo").status_code == 302
    other = client.application.test_client()
    phone = world.users["worker2"].phone
    response = _post_login(other, phone, "linli-demo")
    assert response.status_code == 302
    assert "张建国" in other.get("/settings").get_data(as_text=True)


def test_wrong_password_is_refused_in_chinese(client, world):
    response = _post_login(client, "worker1", "nope")
    assert response.status_code == 400
    assert "用户名或密码不正确" in response.get_data(as_text=True)


def test_failed_logins_are_throttled(client, world):
    for _ in range(5):
        assert _post_login(client, "worker1", "wrong").status_code == 400
    response = _post_login(client, "worker1", "linli-demo")  # even the right password now waits
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "登录失败次数过多" in text
    import re
    assert 1 <= int(re.search(r"请(\d+)分钟后再试", text).group(1)) <= 5  # a short first wait (back-off)


def test_login_form_needs_csrf(client, world):
    client.get("/login")
    response = client.post("/login", data={"login": "worker1", "password": "linli-demo"})
    assert response.status_code == 400


def test_session_lasts_a_working_week(client, world):
    response = _post_login(client, "worker1", "linli-demo")
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith("remember_token="))
    session = next(c for c in cookies if c.startswith("session="))
    for cookie in (remember, session):
        assert "Expires=" in cookie
    from email.utils import parsedate_to_datetime
    expires = parsedate_to_datetime(remember.split("Expires=")[1].split(";")[0])
    from datetime import datetime, timezone
    assert expires - datetime.now(timezone.utc) > timedelta(days=6)


def test_logout_ends_remember_me(app, world):
    client = app.test_client()
    token = login(client, "worker1")
    remember = client.get_cookie("remember_token")
    assert remember is not None
    client.post("/logout", data={"csrf_token": token})
    # a stolen remember-me cookie from before logout no longer works
    thief = app.test_client()
    thief.set_cookie("remember_token", remember.value)
    assert thief.get("/grids").status_code == 302


def test_home_per_role(as_user, world):
    assert as_user("admin").get("/").headers["Location"].startswith("/admin")
    assert as_user("worker1").get("/").status_code == 302
    assert as_user("volunteer1").get("/").headers["Location"] == "/meals"


def test_english_is_available(client, world):
    html = client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in html and "用户名或手机号" not in html
    assert "用户名或手机号" in client.get("/login").get_data(as_text=True)


def test_login_next_never_leaves_the_site(client, world):
    """A link with next= pointing elsewhere (phishing) lands on Linli after the login."""
    targets = ("//evil.example/x", "https://evil.example/", "/\\evil.example", "\\\\evil.example",
               "javascript:alert(1)", "https:evil.example")
    users = ("worker1", "worker2", "leader1", "admin", "volunteer1", "microworker1")  # (login back-off per account)
    for target, who in zip(targets, users):
        c = client.application.test_client()
        token = csrf_from(c.get("/login").get_data(as_text=True))
        response = c.post("/login", query_string={"next": target},
                          data={"login": who, "password": "linli-demo", "csrf_token": token})
        assert response.status_code == 302, target
        location = response.headers["Location"]
        assert location.startswith("/") and "evil.example" not in location, (target, location)
    c = client.application.test_client()  # a local next= is honoured
    token = csrf_from(c.get("/login").get_data(as_text=True))
    response = c.post("/login", query_string={"next": "/search?q=1"},
                      data={"login": "leader1", "password": "linli-demo", "csrf_token": token})
    assert response.headers["Location"] == "/search?q=1"
