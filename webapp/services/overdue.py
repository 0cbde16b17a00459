"""Overdue is not an emergency: high-risk elders overdue for a visit (beyond the community's
margin, or never visited) go to an overdue list, and each worker gets ONE digest notice a
local day ("N 户高风险老人走访逾期", linking to the list), instead of one alert per household.

The digest is sent by the hourly scheduler sweep; a notice with subject ("overdue", YYYYMMDD)
marks the day as done for that worker, so further sweeps that day add nothing.
"""
from collections import namedtuple

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import localtime
from ..extensions import db
from ..models import Notice, User
from . import coverage, push, visits

SUBJECT = "overdue"
DIGEST_FROM_HOUR = 7  # local time: no digest pushed at night
Page = namedtuple("Page", "entries total page pages per_page")


def entries(user, today=None):
    """The high-risk households in the user's scope overdue beyond the margin or never visited,
    most overdue first (never visited first of all), as visits.Due entries."""
    community = user.community
    margin = community.setting("overdue_alert_margin_days", 3)
    high_risk = community.setting("high_risk_days", 7)
    # narrowed before any household is loaded: the community's whole due list is never built
    found = visits.today_list(user, today=today, keep=lambda interval, overdue: (
        interval is not None and interval <= high_risk and (overdue is None or overdue > margin)))
    found.sort(key=lambda e: (e.overdue is not None, -(e.overdue or 0), e.household.id))
    return found


def page(user, number=1, per_page=50, today=None):
    found = entries(user, today)
    pages = max(1, -(-len(found) // per_page))
    number = min(max(number, 1), pages)
    return Page(found[(number - 1) * per_page:number * per_page], len(found), number, pages, per_page)


def _day_key(day):
    return day.year * 10000 + day.month * 100 + day.day


def send_digests(community, now_local=None):
    """One digest notice per active worker (not away) with overdue elders, once per local day.
    Commits (a scheduler sweep: a durable boundary). Returns how many were sent."""
    now_local = now_local or localtime.now(community)
    if now_local.hour < DIGEST_FROM_HOUR:
        return 0
    today = now_local.date()
    key = _day_key(today)
    away = coverage.away_ids(community, today)
    workers = db.session.scalars(select(User).where(
        User.community_id == community.id, User.role == "worker", User.active.is_(True)).order_by(User.id)).all()
    done = set(db.session.scalars(select(Notice.user_id).where(
        Notice.subject_type == SUBJECT, Notice.subject_id == key, Notice.user_id.in_([w.id for w in workers]))))
    sent = 0
    for worker in workers:
        if worker.id in done or worker.id in away:
            continue
        n = len(entries(worker, today))
        if not n:
            continue
        title = _("%(n)s 户高风险老人走访逾期", n=n)
        body = _("请查看逾期名单，安排走访或电话问候。")
        push.add_notices([worker.id], title, body, "/overdue", subject=(SUBJECT, key))
        try:
            db.session.commit()
        except IntegrityError:  # another process sent this worker's digest meanwhile (uq_notice_overdue_day)
            db.session.rollback()
            continue
        push.send_later([worker.id], title, body, "/overdue", subject=(SUBJECT, key), urgent=False)
        sent += 1
    return sent
