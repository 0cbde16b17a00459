from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Household, Resident, User


def test_seed_demo_is_idempotent_and_prints_accounts(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    for name in ("admin", "leader1", "worker1", "worker2", "volunteer1", "resident1"):
        assert name in first.output
    lines = {line.split()[0]: line for line in first.output.splitlines() if line.startswith("  ")}
    assert "社区管理员" in lines["admin"] and "网格长" in lines["leader1"] and "网格员" in lines["worker1"]
    assert "志愿者" in lines["volunteer1"] and "居民" in lines["resident1"]
    assert "admin" not in lines["admin"].split(None, 1)[1] and "worker" not in lines["worker1"].split(None, 1)[1]
    households = db.session.scalar(select(func.count(Household.id)))
    residents = db.session.scalar(select(func.count(Resident.id)))
    assert 1700 <= households <= 1900 and 4500 <= residents <= 5500
    aged = sum(1 for r in db.session.scalars(select(Resident)) if r.is_aged)
    assert 0.10 < aged / residents < 0.18  # about one in seven
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert db.session.scalar(select(func.count(Household.id))) == households


def test_create_user(app, world):
    runner = app.test_cli_runner()
    grid = world.grids[2]
    result = runner.invoke(args=["create-user", "worker3", "--name", "赵三", "--role", "worker",
                                 "--password", "s3cret-pass", "--grid", grid.code,
                                 "--community", world.community.code])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "worker3"))
    assert [a.grid_id for a in user.assignments] == [grid.id]


def test_import_households_cli(app, world, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("楼栋,房号,姓名,性别,出生日期\n1栋,808,钱奶奶,女,1938-02-03\n9999栋,1,坏行,男,\n",
                    encoding="utf-8")
    runner = app.test_cli_runner()
    # two communities in the fixtures: the command must be told which one
    unnamed = runner.invoke(args=["import-households", str(path)])
    assert unnamed.exit_code != 0 and "--community" in unnamed.output
    refused = runner.invoke(args=["import-households", str(path), "--community", world.community.code])
    assert refused.exit_code != 0 and "未知楼栋" in refused.output
    ok = runner.invoke(args=["import-households", str(path), "--only-valid", "--community", world.community.code])
    assert ok.exit_code == 0, ok.output
    imported = db.session.scalar(select(Resident).where(Resident.name == "钱奶奶"))
    assert imported is not None and imported.community_id == world.community.id


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"
