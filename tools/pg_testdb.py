"""Create the suite's own PostgreSQL database if it is missing (make test-postgres).

The suite refuses a database that holds tables it did not create, so it gets one of its own
(`linli_test` by default) rather than a shared one; a new, empty database is the suite's."""
import sys

import psycopg
from psycopg import sql


def main(url):
    base, _sep, name = url.rpartition("/")
    name = name.split("?", 1)[0]
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created the test database {name}")


if __name__ == "__main__":
    main(sys.argv[1])
