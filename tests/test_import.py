"""Import from the spreadsheets communities keep: preview of bad rows, nothing
written until clean (or only valid rows chosen), export gives the columns back."""
import csv
import io
import re
from datetime import date

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Household, Resident
from webapp.services import identity, importer

HEADER = list(importer.COLUMNS)


def _row(building, room, name, sex="女", birth="1940-05-06", id_number="", unit="1", cats=""):
    return [building, unit, room, "13800138000", "李四,儿子,13900002222", name, sex, birth, id_number,
            "", "户主", cats]


def _xlsx(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _good_rows(n, building="1栋"):
    return [_row(building, f"9{i:02d}", f"导入{i}", id_number=identity.make_id("440105", date(1940, 5, 6), 100 + i))
            for i in range(n)]


def _counts():
    db.session.expire_all()
    return (db.session.scalar(select(func.count(Household.id))),
            db.session.scalar(select(func.count(Resident.id))))


def _upload(admin, data, name="households.xlsx"):
    return admin.post("/admin/import", data={"csrf_token": admin.csrf, "file": (io.BytesIO(data), name)},
                      content_type="multipart/form-data")


def test_five_bad_rows_are_reported_and_nothing_is_written(as_user, world):
    admin = as_user("admin")
    rows = _good_rows(10)
    rows[1][0] = "不存在楼"                                                   # unknown building
    rows[3][8] = "11010519491231002"  + "1"                                  # bad ID checksum
    rows[5] = list(rows[4])                                                   # duplicate resident
    rows[7][7] = "去年春天"                                                   # unreadable date
    rows[9][7], rows[9][8] = "1940/13/45", ""                                 # unreadable date
    before = _counts()
    response = _upload(admin, _xlsx(rows))
    assert response.status_code == 302
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    reported = sorted(int(n) for n in re.findall(r"<tr><td>(\d+)</td>", page))
    assert reported == [3, 5, 7, 9, 11]  # file rows (header is row 1)
    assert "未知楼栋" in page and "身份证号校验不通过" in page and "与第6行重复的居民" in page
    assert "出生日期无法识别" in page
    assert _counts() == before
    token = response.headers["Location"].rsplit("/", 1)[1]
    refused = admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    assert refused.status_code == 400 and "有错误行" in refused.get_data(as_text=True)
    assert _counts() == before
    admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf, "only_valid": "1"})
    assert _counts()[1] == before[1] + 5
    done = admin.get(f"/admin/import/{token}").get_data(as_text=True)
    assert "导入完成" in done


def test_clean_csv_imports_and_export_round_trips(as_user, world):
    admin = as_user("admin")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(_good_rows(4, building="2栋"))
    response = _upload(admin, buf.getvalue().encode("gb18030"), "h.csv")
    token = response.headers["Location"].rsplit("/", 1)[1]
    before = _counts()
    admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    assert _counts() == (before[0] + 4, before[1] + 4)
    exported = admin.get("/admin/export.xlsx")
    sheet = load_workbook(io.BytesIO(exported.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    mine = [r for r in rows if r[5] and str(r[5]).startswith("导入")]
    assert len(mine) == 4 and mine[0][4] == "李四,儿子,13900002222"
    # importing the export again changes nothing
    again = _upload(admin, exported.data)
    token = again.headers["Location"].rsplit("/", 1)[1]
    assert "文件没有错误" in admin.get(f"/admin/import/{token}").get_data(as_text=True)
    admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    assert _counts() == (before[0] + 4, before[1] + 4)


def test_unreadable_file_is_explained(as_user, world):
    admin = as_user("admin")
    response = _upload(admin, b"\x00\x01garbage", "h.xlsx")
    assert response.status_code == 400 and "无法读取" in response.get_data(as_text=True)
    response = _upload(admin, b"a,b\n1,2\n", "h.csv")
    assert response.status_code == 400 and "缺少必需的列" in response.get_data(as_text=True)


def test_failed_import_leaves_nothing_half_saved(app, world, monkeypatch):
    from webapp.models import User
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    job = importer.preview(admin.community, admin, "h.xlsx", _xlsx(_good_rows(600)))
    original = importer.jobs.set_progress

    def crash_midway(key, **values):
        original(key, **values)
        if values.get("status") == "running" and values.get("done", 0) >= 250:
            raise RuntimeError("disk full")
    monkeypatch.setattr(importer.jobs, "set_progress", crash_midway)
    before = _counts()
    importer.start(job, only_valid=False)  # the failure is logged, not raised to the caller
    assert _counts() == before
    db.session.refresh(job)
    assert job.status == "failed"


def test_import_runs_on_an_rq_worker(app, as_user, world):
    """Production mode: the import is a job on Redis, run by an RQ worker process."""
    import os

    import pytest
    if not os.environ.get("REDIS_URL"):
        pytest.skip("RQ mode is tested in the PostgreSQL + Redis run of `make test`")
    from redis import Redis
    from rq import Queue, SimpleWorker
    redis = Redis.from_url(os.environ["REDIS_URL"])
    queue = Queue("default", connection=redis)
    queue.empty()
    admin = as_user("admin")
    response = _upload(admin, _xlsx(_good_rows(3)))
    token = response.headers["Location"].rsplit("/", 1)[1]
    before = _counts()
    app.config["JOBS_INLINE"] = False
    try:
        admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    finally:
        app.config["JOBS_INLINE"] = True
    assert _counts() == before  # queued, not yet run
    assert "正在导入" in admin.get(f"/admin/import/{token}").get_data(as_text=True)
    SimpleWorker([queue], connection=redis).work(burst=True)
    assert _counts()[1] == before[1] + 3
    assert "导入完成" in admin.get(f"/admin/import/{token}").get_data(as_text=True)


def test_one_import_is_committed_once(as_user, world):
    """Committing the same preview twice (a double click, a resent form) writes its rows once."""
    admin = as_user("admin")
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(_good_rows(3, building="3栋"))
    token = _upload(admin, buf.getvalue().encode("gb18030"), "h.csv").headers["Location"].rsplit("/", 1)[1]
    before = _counts()
    first = admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    second = admin.post(f"/admin/import/{token}/commit", data={"csrf_token": admin.csrf})
    assert first.status_code in (200, 302) and second.status_code == 400
    assert "已经导入过" in second.get_data(as_text=True)
    assert _counts() == (before[0] + 3, before[1] + 3)
