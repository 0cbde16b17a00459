"""The inbox: looking changes nothing; reading is a POST (one notice when followed, or all)."""
from datetime import datetime, timedelta

from sqlalchemy import func, select

from webapp import clock
from webapp.extensions import db
from webapp.models import Notice, User
from webapp.services import alerts

T0 = datetime(2026, 11, 22, 2, 0)


def unread(username):
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalar(select(func.count(Notice.id)).where(Notice.user_id == user.id,
                                                                 Notice.read_at.is_(None)))


def notice_ids(username):
    user = db.session.scalar(select(User).where(User.username == username))
    return db.session.scalars(select(Notice.id).where(Notice.user_id == user.id).order_by(Notice.id)).all()


def test_opening_the_inbox_marks_nothing_read(as_user, world):
    clock.freeze(T0)
    alerts.raise_alert("sos", world.grid1[0])
    alerts.raise_alert("sos", world.grid1[1])
    assert unread("worker1") == 2
    worker = as_user("worker1")
    for _ in range(2):
        page = worker.get("/inbox")
        assert page.status_code == 200
        assert page.get_data(as_text=True).count('class="tag"') == 2  # both still shown as new
    assert unread("worker1") == 2
    assert "2条新通知" in worker.get("/settings").get_data(as_text=True)


def test_following_a_notice_reads_that_one_and_goes_where_it_points(as_user, world):
    clock.freeze(T0)
    first = alerts.raise_alert("sos", world.grid1[0])
    alerts.raise_alert("sos", world.grid1[1])
    worker = as_user("worker1")
    notice = db.session.scalar(select(Notice).where(Notice.alert_id == first.id,
                                                    Notice.user_id == world.users["worker1"].id))
    response = worker.post(f"/notices/{notice.id}/open", data={"csrf_token": worker.csrf})
    assert response.status_code == 302 and response.headers["Location"] == f"/alerts/{first.id}"
    assert unread("worker1") == 1
    db.session.expire_all()
    assert db.session.get(Notice, notice.id).read_at == T0
    # following it again keeps the first reading time and still leads there
    clock.advance(timedelta(minutes=1))
    again = worker.post(f"/notices/{notice.id}/open", data={"csrf_token": worker.csrf})
    assert again.headers["Location"] == f"/alerts/{first.id}"
    db.session.expire_all()
    assert db.session.get(Notice, notice.id).read_at == T0


def test_mark_all_read_is_a_post_of_ones_own_notices(as_user, world):
    clock.freeze(T0)
    alerts.raise_alert("sos", world.grid1[0])
    alerts.raise_alert("sos", world.grid2[0])  # worker2's notices
    assert unread("worker1") == 1 and unread("worker2") == 1
    worker = as_user("worker1")
    assert "全部标为已读" in worker.get("/inbox").get_data(as_text=True)
    assert worker.post("/inbox/read", data={}).status_code == 400  # no CSRF token: refused, nothing read
    assert unread("worker1") == 1
    response = worker.post("/inbox/read", data={"csrf_token": worker.csrf})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox"
    assert unread("worker1") == 0 and unread("worker2") == 1
    assert "全部标为已读" not in worker.get("/inbox").get_data(as_text=True)


def test_another_users_notice_cannot_be_followed_or_read(as_user, world):
    clock.freeze(T0)
    alerts.raise_alert("sos", world.grid2[0])
    theirs = notice_ids("worker2")[0]
    worker = as_user("worker1")
    assert worker.post(f"/notices/{theirs}/open", data={"csrf_token": worker.csrf}).status_code == 404
    assert worker.post("/notices/999999/open", data={"csrf_token": worker.csrf}).status_code == 404
    assert worker.get(f"/notices/{theirs}/open").status_code == 405
    assert unread("worker2") == 1


def test_a_notice_pointing_off_site_leads_home(as_user, world):
    from webapp.services import push
    user = world.users["worker1"]
    push.add_notices([user.id], "x", "", "//evil.example/")
    push.add_notices([user.id], "y", "", "https://evil.example/")
    db.session.commit()
    worker = as_user("worker1")
    for nid in notice_ids("worker1"):
        assert worker.post(f"/notices/{nid}/open", data={"csrf_token": worker.csrf}).headers["Location"] == "/"
