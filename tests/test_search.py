"""Search like a person: the label as written, street address, name, phone tail, pinyin initials;
always within the user's scope."""
from datetime import date

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Building, Community, Resident
from webapp.services import registry


def _building(name):
    return db.session.scalar(select(Building).where(Building.name == name))


def _ids(user, term):
    return [h.id for h in registry.search(user, term)]


def _add(building, unit, room, name, phone=None):
    community = db.session.get(Community, building.grid.community_id)
    h = registry.save_household(building, unit, room, phone, [])
    registry.save_resident(community, h, "户主", name, "M", date(1950, 3, 3), None, None, [])
    db.session.commit()
    return h


def test_label_as_written_and_with_dashes(world):
    worker = world.users["worker1"]
    first = _building("1栋")
    target = next(h for h in world.grid1 if h.building_id == first.id and h.unit == "1" and h.room == "101")
    other_unit = _add(first, "2", "101", "钱一")
    eleventh = _add(registry.save_building(first.grid, "11栋", "翠城路23号"), "1", "101", "孙一")
    for term in ("1栋1单元101", "1-1-101", "1－1－101", " 1栋 1单元 101 ", "1栋1单元101室"):
        assert _ids(worker, term) == [target.id], term
    assert set(_ids(worker, "1-101")) == {target.id, other_unit.id}
    unit_one = set(_ids(worker, "1栋1单元"))
    assert target.id in unit_one and other_unit.id not in unit_one
    assert _ids(worker, "11-1-101") == [eleventh.id] and _ids(worker, "11号楼1单元101") == [eleventh.id]


def test_search_by_street_address_name_phone_tail_and_initials(world):
    worker = world.users["worker1"]
    first = _building("1栋")
    by_address = _ids(worker, first.address)
    assert by_address and {h.building_id for h in registry.search(worker, first.address)} == {first.id}
    zhang = _add(first, "1", "1801", "张三", phone="13912345678")
    assert zhang.id in _ids(worker, "张三")
    assert zhang.id in _ids(worker, "5678")
    assert zhang.id in _ids(worker, "zs") and zhang.id in _ids(worker, "ZS") and zhang.id in _ids(worker, "z s")
    assert zhang.id not in _ids(worker, "zx")
    # the initials follow a change of name
    resident = zhang.current_residencies[0].resident
    community = db.session.get(Community, first.grid.community_id)
    registry.save_resident(community, zhang, "户主", "李四", "M", date(1950, 3, 3), None, None, [],
                           resident=resident)
    db.session.commit()
    assert zhang.id in _ids(worker, "ls") and zhang.id not in _ids(worker, "zs")


def test_residents_seeded_in_bulk_have_their_initials(world):
    """The demo and the import insert residents in bulk, past the ORM."""
    people = db.session.execute(select(Resident.name, Resident.initials)).all()
    assert people and all(initials and initials == registry.name_initials(name) for name, initials in people)


def test_search_stays_within_scope(world):
    first = _building("1栋")  # grid 1
    target = next(h for h in world.grid1 if h.building_id == first.id and h.room == "101" and h.unit == "1")
    zhang = _add(first, "1", "1801", "张三", phone="13912345678")
    worker2 = world.users["worker2"]
    for term in ("1-1-101", "1栋1单元101", first.address, "zs", "5678", "张三"):
        found = _ids(worker2, term)
        assert target.id not in found and zhang.id not in found, term
    resident = world.users["resident1"]
    assert zhang.id not in _ids(resident, "zs")


def test_odd_input_neither_fails_nor_matches_everything(world, as_user):
    worker = world.users["worker1"]
    assert _ids(worker, "%") == [] and _ids(worker, "_") == [] and _ids(worker, "\\") == []
    assert _ids(worker, "   ") == []
    client = as_user("worker1")
    for term in ("%", "1-1-", "--", "栋", "\x00\x01", "1" * 5000, "'; drop table household; --", "单元"):
        assert client.get("/search", query_string={"q": term}).status_code == 200, term


def test_search_page_by_label_initials_and_address(world, as_user):
    first = _building("1栋")
    zhang = _add(first, "2", "1702", "张三")
    client = as_user("worker1")
    for term in ("1-2-1702", "zs", first.address):
        html = client.get("/search", query_string={"q": term}).get_data(as_text=True)
        assert f'/households/{zhang.id}"' in html, term


def test_migration_fills_initials_of_residents_already_there(app, world):
    """h4_1 adds the column and derives it for the rows that exist."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text
    db.session.commit()
    db.session.remove()
    downgrade(revision="h7_1")  # the revision before h4_1
    try:
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO resident (community_id, name, sex) "
                              "SELECT community_id, '张三丰', 'M' FROM resident LIMIT 1"))
    finally:
        upgrade()
    assert db.session.scalar(select(Resident.initials).where(Resident.name == "张三丰")) == "zsf"
