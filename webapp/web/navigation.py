"""The bottom tab bar and the 更多 page, from one list.

Each entry is a capability (access.py), a URL and a label. A user gets the entries their
capabilities allow, in this order. Five tabs fit a 320 px phone on one line; past five, the
first four stay in the bar and the rest go to the 更多 page (/more), which the bar then ends with.
Tab labels are short words (pgettext context "tab"), so that English fits too."""
from typing import NamedTuple

from flask import request, url_for
from flask_babel import pgettext

from .. import access

MAX_TABS = 5


class Entry(NamedTuple):
    capability: str
    endpoint: str
    label: str  # the Chinese msgid; translated with the context "tab"


ENTRIES = (
    Entry("SOS", "resident.home", "首页"),
    Entry("MEAL_ROUNDS", "meals.home", "送餐"),
    Entry("VISIT_ROUNDS", "visits.today", "今日"),
    Entry("ADMIN", "admin.index", "管理"),
    Entry("HANDLE_ALERTS", "alerts.index", "求助"),
    Entry("HANDLE_REQUESTS", "requests.index", "诉求"),  # residents: from their home page
    Entry("VIEW_DASHBOARD", "dashboard.index", "统计"),
    Entry("VIEW_REGISTRY", "registry.search", "搜索"),
    Entry("VIEW_REGISTRY", "registry.grids", "网格"),
    Entry("ADMIN", "meals.routes", "送餐路线"),
    Entry("FOLLOW_OVERDUE", "visits.overdue_list", "逾期未访"),
    Entry("ZERO_REPORT", "dashboard.zero", "零上报"),
    Entry("MANAGE_ABSENCES", "admin.absences", "请假"),
    Entry("ANY_USER", "alerts.inbox", "通知"),
    Entry("ANY_USER", "auth.settings", "设置"),
)
MORE = Entry("ANY_USER", "main.more", "更多")


def _labels():
    """Chinese msgid → this request's label; the msgids are written out, so that extraction finds them."""
    return {
        "首页": pgettext("tab", "首页"), "送餐": pgettext("tab", "送餐"), "今日": pgettext("tab", "今日"),
        "管理": pgettext("tab", "管理"), "求助": pgettext("tab", "求助"), "诉求": pgettext("tab", "诉求"),
        "统计": pgettext("tab", "统计"), "搜索": pgettext("tab", "搜索"), "网格": pgettext("tab", "网格"),
        "送餐路线": pgettext("tab", "送餐路线"), "逾期未访": pgettext("tab", "逾期未访"),
        "零上报": pgettext("tab", "零上报"), "请假": pgettext("tab", "请假"), "通知": pgettext("tab", "通知"),
        "设置": pgettext("tab", "设置"), "更多": pgettext("tab", "更多"),
    }


def entries_for(user):
    return [e for e in ENTRIES if access.may(user, e.capability)]


def split(user):
    """(tabs, the rest): the bar's entries, 更多 last when there is a rest."""
    entries = entries_for(user)
    if len(entries) <= MAX_TABS:
        return entries, []
    return entries[:MAX_TABS - 1] + [MORE], entries[MAX_TABS - 1:]


def _hrefs(entries):
    return [(e, url_for(e.endpoint)) for e in entries]


def _links(pairs, current=None):
    labels = _labels()
    return [{"href": href, "label": labels[e.label], "current": e == current} for e, href in pairs]


def bar(user):
    """The tabs as links. The current one is the entry whose URL is the longest prefix of this
    page's; a page of the 更多 list makes 更多 current, where it lives."""
    tabs, rest = (_hrefs(part) for part in split(user))
    path = request.path
    matches = [(len(href), e) for e, href in tabs + rest if path == href or path.startswith(href.rstrip("/") + "/")]
    current = max(matches, key=lambda m: m[0])[1] if matches else None
    return _links(tabs, MORE if current in [e for e, _ in rest] else current)


def more(user):
    """The 更多 page's links: what the bar has no room for (when all fits, the bar's own, so that
    the page is never empty)."""
    tabs, rest = split(user)
    return _links(_hrefs(rest or tabs))
