"""Two requests at the same moment, made to meet inside the check-then-insert window: each
request's first INSERT into `table` waits until the other request reaches its own INSERT into
that table (or a deadline passes, for code that no longer inserts), so both have done their
"is there one already?" reads before either writes. Real concurrent requests on the test
database (PostgreSQL under `pg`, SQLite's write lock under `lite`)."""
import threading

from sqlalchemy import event

from webapp.extensions import db


def at_once(calls, table, wait=10):
    """Run the callables in threads together; returns their results in order (an exception a
    call raised, e.g. a view's error under TESTING, is returned in its place)."""
    meet = threading.Barrier(len(calls), timeout=wait)
    racers, waited = set(), set()

    def before(conn, cursor, statement, parameters, context, executemany):
        me = threading.get_ident()
        words = statement.lstrip().split(None, 3)
        if me in racers and me not in waited and words[:2] == ["INSERT", "INTO"] \
                and words[2].strip('"') == table:
            waited.add(me)
            try:
                meet.wait()
            except threading.BrokenBarrierError:
                pass

    results = [None] * len(calls)

    def run(i):
        racers.add(threading.get_ident())
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - what a server would answer with a 500
            results[i] = exc

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return results
