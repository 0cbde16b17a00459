"""Time to import a 2,000-household XLSX (target: under 10 s here)."""
import io
import logging
import random
import time
from datetime import date

from openpyxl import Workbook

from bench.common import backends, fresh_app

HOUSEHOLDS = 2000


def make_workbook(buildings, n=HOUSEHOLDS, seed=7):
    from webapp.services import identity, importer
    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(list(importer.COLUMNS))
    seq = 0
    rows = 0
    for h in range(n):
        b = buildings[h % len(buildings)]
        for k in range(rng.choice((1, 2, 3, 4))):
            seq += 1
            birth = date(rng.randint(1930, 2015), rng.randint(1, 12), rng.randint(1, 28))
            ws.append([b, str(1 + h % 2), f"B{h:04d}", "13800138000", "李四,儿子,13900002222",
                       f"居民{seq}", rng.choice("男女"), birth.isoformat(),
                       identity.make_id(str(110100 + seq // 1000), birth, seq % 1000), "", "户主" if k == 0 else "子女",
                       "独居老人" if k == 0 and rng.random() < 0.1 else ""])
            rows += 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), rows


def run(backend):
    from webapp.extensions import db
    from webapp.models import User
    from webapp.services import demo, importer
    from sqlalchemy import select
    with fresh_app(backend):
        demo.seed(households_per_building=1, buildings_per_grid=10, print_fn=lambda *a: None)
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        names = [f"{n}栋" for n in range(1, 41)]
        data, rows = make_workbook(names)
        started = time.perf_counter()
        job = importer.preview(admin.community, admin, "bench.xlsx", data)
        checked = time.perf_counter()
        assert job.bad_rows == 0, job.bad_rows
        importer.start(job, only_valid=False)
        finished = time.perf_counter()
        print(f"import {HOUSEHOLDS} households / {rows} residents XLSX on {backend}: "
              f"{finished - started:.2f} s (check {checked - started:.2f} s, write {finished - checked:.2f} s)"
              f"  target < 10 s")


def main():
    logging.disable(logging.WARNING)
    for backend in backends():
        run(backend)


if __name__ == "__main__":
    main()
