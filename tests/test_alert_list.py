"""Issue 10: the alert list filters by state, source and grid (a plain GET form), shows open
alerts first, the urgent ones first among them, then the newest, and pages by 30."""
import re
from datetime import datetime, timedelta

from webapp import clock
from webapp.extensions import db
from webapp.services import alerts

T0 = datetime(2026, 11, 22, 2, 0)


def _ids(html):
    block = html[html.index('id="alerts"'):]
    return [int(x) for x in re.findall(r'<a href="/alerts/(\d+)"', block)]


def _raise(world, source, household, minutes, severity="high", state="open"):
    clock.freeze(T0 + timedelta(minutes=minutes))
    alert = alerts.raise_alert(source, household, severity=severity)
    if state != "open":
        alerts.resolve(alert, world.users["admin"], "已处理", false_alarm=state == "false_alarm")
        db.session.commit()
    return alert.id


def test_order_open_urgent_first_then_newest(as_user, world):
    h = world.grid1[0]
    old_high = _raise(world, "sos", h, 0)
    medium = _raise(world, "worker", world.grid1[1], 1, severity="medium")
    done = _raise(world, "sos", world.grid1[2], 2, state="resolved")
    new_high = _raise(world, "worker", world.grid1[3], 3)
    ids = _ids(as_user("admin").get("/alerts").get_data(as_text=True))
    assert ids == [new_high, old_high, medium, done]


def test_filters_by_state_source_and_grid(as_user, world):
    sos1 = _raise(world, "sos", world.grid1[0], 0)
    worker1 = _raise(world, "worker", world.grid1[1], 1)
    resolved1 = _raise(world, "sos", world.grid1[2], 2, state="resolved")
    sos2 = _raise(world, "sos", world.grid2[0], 3)
    admin = as_user("admin")
    assert set(_ids(admin.get("/alerts?state=resolved").get_data(as_text=True))) == {resolved1}
    assert set(_ids(admin.get("/alerts?source=sos").get_data(as_text=True))) == {sos1, resolved1, sos2}
    assert set(_ids(admin.get(f"/alerts?grid={world.grids[1].id}").get_data(as_text=True))) == {sos2}
    both = admin.get(f"/alerts?state=open&source=sos&grid={world.grids[0].id}").get_data(as_text=True)
    assert _ids(both) == [sos1]
    assert 'value="sos" selected' in both  # the form shows what was asked
    # a micro-grid narrows further; its parent includes it
    assert set(_ids(admin.get(f"/alerts?grid={world.micro.id}").get_data(as_text=True))) <= {sos1, worker1, resolved1}
    # unknown values are no filter at all; a grid outside the user's scope answers 404
    assert set(_ids(admin.get("/alerts?state=nonsense&source=%00").get_data(as_text=True))) == \
        {sos1, worker1, resolved1, sos2}
    assert admin.get(f"/alerts?grid={world.other.grids[0].id}").status_code == 404
    assert admin.get("/alerts?grid=99999999999").status_code == 200  # not an id: no filter
    worker = as_user("worker1")
    assert worker.get(f"/alerts?grid={world.grids[1].id}").status_code == 404
    assert sos2 not in _ids(worker.get("/alerts").get_data(as_text=True))


def test_htmx_gets_the_list_fragment(as_user, world):
    _raise(world, "sos", world.grid1[0], 0)
    response = as_user("admin").get("/alerts?source=sos", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<div id="alert-list">') and "<html" not in html


def test_pages_of_thirty_instead_of_stopping_at_100(as_user, world):
    households = world.grid1 + world.grid2
    made = [_raise(world, "sos", households[i % len(households)], i, state="resolved") for i in range(105)]
    admin = as_user("admin")
    seen = []
    for number in (1, 2, 3, 4):
        html = admin.get(f"/alerts?page={number}&state=resolved").get_data(as_text=True)
        seen += _ids(html)
        if number < 4:
            assert "下一页" in html and f"page={number + 1}" in html and "state=resolved" in html
        else:
            assert "下一页" not in html and "上一页" in html
    assert seen == sorted(made, reverse=True)  # newest first, each once, all 105
    assert "共 105 条" in admin.get("/alerts?state=resolved").get_data(as_text=True)
    assert _ids(admin.get("/alerts?page=9&state=resolved").get_data(as_text=True)) == []
