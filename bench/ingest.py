"""Ingest throughput: 10,000 visits in batches of 100 through the sync service,
against the same rows inserted by plain SQLAlchemy executemany, in the same run.
Targets here: at least 2,000 records/s on PostgreSQL, and within 3x of the plain insert."""
import logging
import time
import uuid

from sqlalchemy import delete, insert, select

from bench.common import backends, fresh_app

TOTAL, BATCH = 10_000, 100


def make_batches(households):
    batches = []
    for b in range(TOTAL // BATCH):
        batches.append([{
            "uuid": str(uuid.uuid4()), "kind": "visit", "recorded_at": "2026-11-20T02:00:00Z",
            "payload": {"household_id": households[(b * BATCH + i) % len(households)], "mode": "door",
                        "occurred_at": "2026-11-20T10:00", "health": "ok", "mental": "concern",
                        "mental_note": "情绪低落", "needs": ["meals"], "note": "基准测试"}}
            for i in range(BATCH)])
    return batches


def run(backend):
    from webapp.extensions import db
    from webapp.models import User, Visit
    from webapp.services import demo, records, scope
    with fresh_app(backend):
        demo.seed(households_per_building=50, buildings_per_grid=10, print_fn=lambda *a: None)
        db.session.execute(delete(Visit))
        db.session.commit()
        worker = db.session.scalar(select(User).where(User.username == "worker1"))
        households = db.session.scalars(scope.households(worker).with_only_columns(scope.Household.id)).all()

        batches = make_batches(households)
        started = time.perf_counter()
        for batch in batches:
            answers = records.ingest(worker, batch)
            assert all(a["status"] == "stored" for a in answers), answers[0]
        ingest_s = time.perf_counter() - started
        rows = [dict(v.__dict__) for v in db.session.scalars(select(Visit).order_by(Visit.id))]
        plain_rows = [{k: r[k] for k in ("household_id", "author_id", "mode", "occurred_at", "residents_seen",
                                         "checks", "needs", "note", "follow_up_due", "urgent", "amends",
                                         "recorded_at", "received_at")} | {"uuid": str(uuid.uuid4())}
                      for r in rows]
        db.session.expire_all()
        db.session.execute(delete(Visit))
        db.session.commit()

        started = time.perf_counter()
        for i in range(0, len(plain_rows), BATCH):
            db.session.execute(insert(Visit), plain_rows[i:i + BATCH])
            db.session.commit()
        plain_s = time.perf_counter() - started

        # the same batches sent again: all duplicates, answered without new rows
        started = time.perf_counter()
        db.session.execute(delete(Visit))
        db.session.commit()
        for batch in batches[:10]:
            records.ingest(worker, batch)
        for batch in batches[:10]:
            records.ingest(worker, batch)
        print(f"{backend:>10}: sync ingest {TOTAL / ingest_s:,.0f} records/s ({ingest_s:.2f} s); "
              f"plain executemany {TOTAL / plain_s:,.0f} rows/s ({plain_s:.2f} s); "
              f"ratio {ingest_s / plain_s:.2f}x (target <= 3x"
              + (", >= 2,000 records/s" if backend == "postgresql" else "") + ")")


def main():
    logging.disable(logging.WARNING)
    print(f"ingest of {TOTAL:,} visits in batches of {BATCH}")
    for backend in backends():
        run(backend)


if __name__ == "__main__":
    main()
