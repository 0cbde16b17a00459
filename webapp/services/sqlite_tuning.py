"""SQLite in the instance folder: WAL and foreign keys, so the embedded mode is safe."""
from sqlalchemy import event
from sqlalchemy.engine import Engine


def _pragmas(dbapi_connection, _record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def install(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") and not event.contains(
        Engine, "connect", _pragmas
    ):
        event.listen(Engine, "connect", _pragmas)
