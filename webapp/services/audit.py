"""The audit trail (PIPL), as one service: who saw or changed what, when, from which
address and with which user agent.

`record` adds an entry to the caller's transaction: the request's unit of work commits it
with the change it describes, and a refused change leaves no entry about itself. Entries
are sealed into their hash chain when that transaction commits (the chain's head row is
updated first, which serialises writers on SQLite and PostgreSQL alike), so the chain order
is the id order.

Some entries must outlive a refused request: failed logins and joins, and 404s on objects
outside the user's scope. The unit of work rolls back every answer >= 400, so these are
written with `durable=True`: on a connection of their own, committed at once. (This is a
deliberate durable boundary.)"""
import hashlib
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from flask import current_app, has_request_context, request

from ..clock import utcnow
from ..extensions import db
from ..models import AuditEntry, AuditHead
from ..models.audit import CHAINS

# Reading and signing in: access logs (kept 6 months). Everything else is a processing
# record (kept 3 years).
ACCESS_ACTIONS = frozenset({
    "view", "view_id", "view_visits", "search", "login", "login_failed", "logout", "not_found",
    "join_failed", "audit_search",
})

MIN_RETENTION_DAYS = {"access": 183, "processing": 3 * 365 + 1}


def chain_of(action):
    return "access" if action in ACCESS_ACTIONS else "processing"


def _printable(value, limit):
    """What a column can hold: control characters (a NUL in a search term, say) shown as �."""
    return "".join("\ufffd" if ord(ch) < 32 or 0x7f <= ord(ch) <= 0x9f else ch for ch in str(value or ""))[:limit]


def _row(user, action, subject_type, subject_id, detail):
    target = subject_type if subject_id is None else f"{subject_type}:{subject_id}"
    address, agent = "", ""
    if has_request_context():
        address = _printable(request.remote_addr, 64)
        agent = _printable(request.user_agent.string, 200)
    return {"at": utcnow(), "user_id": user.id if user is not None and getattr(user, "id", None) else None,
            "action": action[:40], "target": _printable(target, 80), "detail": _printable(detail, 500),
            "address": address, "user_agent": agent, "chain": chain_of(action)}


def record(user, action, subject_type, subject_id=None, detail="", *, durable=False):
    """Audit one act. durable=True commits it now on its own connection (see module doc)."""
    row = _row(user, action, subject_type, subject_id, detail)
    if durable:
        # Durable entries describe a request that is failing: its own work is rolled back now (the
        # unit of work would at the end), which also frees SQLite's write lock for this entry.
        db.session.rollback()
        with _durable_engine().begin() as conn:
            _append(conn, [row])
        return row
    db.session.info.setdefault("audit_pending", []).append(row)
    return row


def _durable_engine():
    """An engine without a pool of its own for durable entries, so a request that holds a
    pooled connection never waits on the pool for its audit entry (40 parallel failed logins
    would otherwise exhaust it)."""
    engine = current_app.extensions.get("linli_audit_engine")
    if engine is None:
        options = current_app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
        engine = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool,
                                  connect_args=options.get("connect_args", {}))
        current_app.extensions["linli_audit_engine"] = engine
    return engine


def entry_hash(prev_hash, row):
    at = row["at"]
    at = at.replace(tzinfo=None).isoformat(timespec="microseconds") if at is not None else ""
    parts = [prev_hash, row["chain"], at, str(row["user_id"] or ""), row["action"], row["target"],
             row["detail"], row["address"], row["user_agent"]]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _append(conn, rows):
    """Seal rows into their chains. The UPDATE of the head row locks the chain until commit."""
    head = AuditHead.__table__
    for chain in sorted({r["chain"] for r in rows}):
        mine = [r for r in rows if r["chain"] == chain]
        done = conn.execute(head.update().where(head.c.chain == chain)
                            .values(entries=head.c.entries + len(mine))).rowcount
        if not done:  # a database emptied by hand: recreate the head row, racing safely
            dialect = conn.dialect.name if hasattr(conn, "dialect") else conn.get_bind().dialect.name
            insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(head)
            conn.execute(insert.values(chain=chain, last_hash="", anchor_hash="", entries=0)
                         .on_conflict_do_nothing())
            conn.execute(head.update().where(head.c.chain == chain).values(entries=head.c.entries + len(mine)))
        prev = conn.execute(sa.select(head.c.last_hash).where(head.c.chain == chain)).scalar_one()
        for r in mine:
            r["prev_hash"] = prev
            r["hash"] = prev = entry_hash(prev, r)
            conn.execute(AuditEntry.__table__.insert().values(**r))
        conn.execute(head.update().where(head.c.chain == chain).values(last_hash=prev))


@sa.event.listens_for(sa.orm.Session, "before_commit")
def _seal(session):
    pending = session.info.pop("audit_pending", None)
    if pending:
        _append(session, pending)


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _drop(session):
    session.info.pop("audit_pending", None)


def verify():
    """Walk each chain; return a list of problems (empty when the trail is intact)."""
    problems = []
    heads = {h.chain: h for h in db.session.scalars(sa.select(AuditHead))}
    for chain in CHAINS:
        head = heads.get(chain)
        expected = head.anchor_hash if head else ""
        rows = db.session.execute(sa.select(AuditEntry.__table__).where(AuditEntry.chain == chain)
                                  .order_by(AuditEntry.id)).mappings()
        for r in rows:
            if r["prev_hash"] != expected:
                problems.append(f"{chain}: entry {r['id']} does not follow the one before (removed or inserted)")
            if entry_hash(r["prev_hash"], r) != r["hash"]:
                problems.append(f"{chain}: entry {r['id']} was changed")
            expected = r["hash"]
        if (head.last_hash if head else "") != expected:
            problems.append(f"{chain}: the newest entries were removed")
    return problems


def retention_days(chain):
    key = "AUDIT_ACCESS_RETENTION_DAYS" if chain == "access" else "AUDIT_PROCESSING_RETENTION_DAYS"
    return max(int(current_app.config[key]), MIN_RETENTION_DAYS[chain])


def purge(now=None):
    """Delete entries older than their chain's retention, oldest first, and move the chain's
    anchor past them. A durable boundary (the CLI command): commits itself."""
    now = now or utcnow()
    removed = {}
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL linli.audit_purge = 'on'"))
        head = AuditHead.__table__
        entry = AuditEntry.__table__
        for chain in CHAINS:
            cutoff = now - timedelta(days=retention_days(chain))
            conn.execute(head.update().where(head.c.chain == chain).values(entries=head.c.entries))
            last = None
            n = 0
            for r in conn.execute(sa.select(entry.c.id, entry.c.at, entry.c.hash)
                                  .where(entry.c.chain == chain).order_by(entry.c.id)):
                if r.at >= cutoff:
                    break
                last, n = r, n + 1
            if last is not None:
                conn.execute(entry.delete().where(entry.c.chain == chain, entry.c.id <= last.id))
                conn.execute(head.update().where(head.c.chain == chain).values(anchor_hash=last.hash))
            removed[chain] = n
        _append(conn, [_row(None, "audit_purge", "audit", None,
                            f"access={removed['access']} processing={removed['processing']}")])
    return removed


def search(admin, who="", action="", target="", since=None, until=None, limit=200):
    """The trail as an admin may read it: entries by users of their own community, newest
    first. Anonymous entries (unknown logins, failed joins) stay with the operator (CLI/DB):
    they cannot be tied to a community."""
    from ..models import User
    q = (sa.select(AuditEntry, User).join(User, User.id == AuditEntry.user_id)
         .where(User.community_id == admin.community_id))
    if who:
        q = q.where(sa.or_(User.username == who, User.name.contains(who)))
    if action:
        q = q.where(AuditEntry.action == action)
    if target:
        q = q.where(AuditEntry.target.startswith(target))
    if since:
        q = q.where(AuditEntry.at >= since)
    if until:
        q = q.where(AuditEntry.at < until)
    return db.session.execute(q.order_by(AuditEntry.id.desc()).limit(limit)).all()


def _cell(value):
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(rows):
    import csv
    import io
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["at_utc", "username", "name", "role", "action", "target", "detail", "address", "user_agent"])
    for entry, user in rows:
        w.writerow([_cell(v) for v in (entry.at.isoformat(timespec="seconds"), user.username, user.name,
                                       user.role, entry.action, entry.target, entry.detail, entry.address,
                                       entry.user_agent)])
    return "\ufeff" + out.getvalue()


def review(actor, description, *, export=False, **filters):
    """The admin screen's search (or CSV export) of the trail; reading the trail is audited too."""
    rows = search(actor, **filters)
    detail = description + (f" rows={len(rows)}" if export else "")
    record(actor, "audit_export" if export else "audit_search", "audit", None, detail[:300])
    return rows
