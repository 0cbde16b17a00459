"""Backup and restore of a production Linli: the PostgreSQL database (pg_dump's custom
format) and the uploaded files (photos), side by side in one folder, with a manifest of
row counts so a restore can be checked against what was backed up.

    flask linli-backup /var/backups/linli/2026-11-23
    flask linli-restore /var/backups/linli/2026-11-23
"""
import json
import os
import subprocess
import tarfile

from sqlalchemy import func, select, text

from ..clock import utcnow
from ..extensions import db


class BackupError(RuntimeError):
    pass


def libpq_url(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        raise BackupError("linli-backup needs PostgreSQL (DATABASE_URL); for SQLite copy instance/linli.sqlite")
    return "postgresql://" + url.split("://", 1)[1]


def upload_folder(app):
    return app.config.get("UPLOAD_FOLDER") or os.path.join(app.instance_path, "uploads")


def row_counts():
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def backup(app, folder):
    os.makedirs(folder, exist_ok=True)
    dump = os.path.join(folder, "linli.dump")
    with app.app_context():
        counts = row_counts()
        db.session.remove()
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", dump, libpq_url(app)], check=True)
    uploads = upload_folder(app)
    with tarfile.open(os.path.join(folder, "uploads.tar.gz"), "w:gz") as tar:
        if os.path.isdir(uploads):
            tar.add(uploads, arcname="uploads")
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump({"made_at": utcnow().isoformat() + "Z", "rows": counts}, f, indent=1)
    return dump


def restore(app, folder):
    dump = os.path.join(folder, "linli.dump")
    if not os.path.exists(dump):
        raise BackupError(f"no linli.dump in {folder}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
        with db.engine.begin() as conn:  # an empty schema: pg_restore then recreates every object
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", libpq_url(app), dump], check=True)
    archive = os.path.join(folder, "uploads.tar.gz")
    if os.path.exists(archive):
        target = os.path.dirname(upload_folder(app))
        os.makedirs(target, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    with open(os.path.join(folder, "manifest.json")) as f:
        expected = json.load(f)["rows"]
    with app.app_context():
        found = row_counts()
        db.session.remove()
    if found != expected:
        raise BackupError(f"restored rows differ from the backup's manifest: {expected} != {found}")
