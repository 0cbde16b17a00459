"""flask commands: create-user, seed-demo, import-households."""
import click

from sqlalchemy import select

from .extensions import db
from .models import ROLES, Community, Grid


def register(app):
    @app.cli.command("seed-demo")
    def seed_demo():
        """Seed the demo community (idempotent) and print the demo accounts."""
        from .services import demo
        community = demo.seed(print_fn=click.echo)
        demo.seed_checkins(community)
        click.echo("演示账号（密码均为 %s）:" % demo.PASSWORD)
        for username, _role, role_name, where in demo.describe_accounts():
            click.echo(f"  {username:<12} {role_name}" + (f"（{where}）" if where else ""))

    @app.cli.command("district-rollup")
    @click.option("--month", default=None, help="YYYY-MM (default: this month)")
    def district_rollup(month):
        """Every community's headline figures for a month (the model has no district level:
        the roll-up is over all communities), as CSV on stdout."""
        import csv
        import sys
        from .services import dashboard
        first = db.session.scalar(select(Community).order_by(Community.id))
        when = dashboard.parse_month(month, first)
        out = csv.writer(sys.stdout)
        out.writerow(dashboard.ROLLUP_COLUMNS)
        out.writerows(dashboard.district_rollup(when))

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--name", required=True)
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--phone")
    @click.option("--community", "community_code", help="community code; defaults to the only one")
    @click.option("--grid", "grid_codes", multiple=True, help="grid code to assign (repeatable)")
    def create_user(username, name, role, password, phone, community_code, grid_codes):
        """Create a user account."""
        from .services import accounts
        community = _community(community_code)
        grids = [db.session.scalar(select(Grid).where(Grid.code == c)) for c in grid_codes]
        if None in grids:
            raise click.ClickException("unknown grid code")
        try:
            accounts.create_user(community, username, name, role, password, phone=phone, grids=grids)
        except accounts.AccountError as exc:
            raise click.ClickException(str(exc)) from None
        db.session.commit()
        click.echo(f"created {username} ({role})")

    @app.cli.command("import-households")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--community", "community_code")
    @click.option("--only-valid", is_flag=True, help="import the valid rows even when some are bad")
    def import_households(path, community_code, only_valid):
        """Import households and residents from a CSV or XLSX file."""
        from .services import importer
        community = _community(community_code)
        with open(path, "rb") as f:
            data = f.read()
        try:
            clean, errors = importer.validate(community.id, importer.read_rows(path, data))
        except importer.ImportFileError as exc:
            raise click.ClickException(str(exc)) from None
        for e in errors:
            click.echo(f"row {e['row']} {e['name']}: {'；'.join(e['reasons'])}", err=True)
        if errors and not only_valid:
            raise click.ClickException(f"{len(errors)} bad rows; nothing written (use --only-valid)")
        with click.progressbar(length=len(clean), label="importing") as bar:
            last = [0]

            def report(done):
                bar.update(done - last[0])
                last[0] = done
            written = importer.write_rows(community.id, clean, report)
        db.session.commit()
        click.echo(f"imported {written} residents")

    @app.cli.command("linli-keys")
    def linli_keys():
        """Create the instance secret key and the VAPID key once (the deploy step)."""
        from .ops.secrets import instance_secret
        from .services import push
        if not app.config.get("SECRET_KEY"):
            instance_secret(app, "secret_key")
        click.echo("VAPID public key: " + push.public_key(app))

    @app.cli.command("linli-backup")
    @click.argument("folder")
    def linli_backup(folder):
        """Back up the PostgreSQL database and the uploaded files into FOLDER."""
        from .ops import backup
        click.echo(backup.backup(app, folder))

    @app.cli.command("linli-restore")
    @click.argument("folder")
    @click.option("--yes", is_flag=True, help="replace the current database without asking")
    def linli_restore(folder, yes):
        """Restore a backup made by linli-backup (replaces the database's contents)."""
        from .ops import backup
        if not yes:
            click.confirm("This replaces every table of the database. Go on?", abort=True)
        backup.restore(app, folder)
        click.echo("restored")

    @app.cli.command("audit-verify")
    def audit_verify():
        """Check the audit trail's hash chains; exit 1 and list the breaks if tampered with."""
        from .services import audit
        problems = audit.verify()
        for p in problems:
            click.echo("BROKEN " + p, err=True)
        if problems:
            raise SystemExit(1)
        click.echo("audit trail intact")

    @app.cli.command("audit-purge")
    def audit_purge():
        """Delete audit entries past their retention (access logs >= 6 months, processing
        records >= 3 years; AUDIT_*_RETENTION_DAYS)."""
        from .services import audit
        removed = audit.purge()
        click.echo(f"purged {removed['access']} access and {removed['processing']} processing entries")

    @app.cli.command("purge-resident")
    @click.argument("resident_id", type=int)
    @click.option("--force", is_flag=True, help="purge even if the resident still lives in a household")
    @click.option("--yes", is_flag=True, help="do not ask for confirmation")
    def purge_resident(resident_id, force, yes):
        """Remove a resident who moved away, with everything that names them (counts stay)."""
        from .services import purge
        if not yes:
            click.confirm(f"Purge resident {resident_id} permanently?", abort=True)
        try:
            summary = purge.purge_resident(resident_id, force=force)
        except purge.PurgeError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"purged resident {resident_id}: {summary['visits_cleaned']} visits cleaned, "
                   f"{summary['accounts']} account(s) disabled")

    @app.cli.command("linli-worker")
    @click.option("--burst", is_flag=True, help="run what is queued, then stop")
    def linli_worker(burst):
        """RQ worker for push fan-out, escalation timers and imports (needs REDIS_URL)."""
        import threading

        from redis import Redis
        from rq import Queue, SimpleWorker

        from .services import scheduler
        url = app.config.get("REDIS_URL")
        if not url:
            raise click.ClickException("set REDIS_URL (without it, jobs run inside the web process)")
        connection = Redis.from_url(url)
        queues = [Queue(name, connection=connection) for name in ("alerts", "push", "default")]
        stop = threading.Event()
        if not burst:
            scheduler.start_clock_for_rq(app, stop)
        try:
            SimpleWorker(queues, connection=connection).work(burst=burst, logging_level="WARNING")
        finally:
            stop.set()

    def _community(code):
        q = select(Community)
        if code:
            q = q.where(Community.code == code)
        found = db.session.scalars(q).all()
        if len(found) != 1:
            raise click.ClickException("name the community with --community")
        return found[0]

