"""Audit trail (PIPL): who saw or changed what, when, from where. Append-only and hash-chained.

Two chains: "access" (views, searches, logins: kept 6 months) and "processing" (changes,
exports, invitations: kept 3 years). Each entry stores the hash of the previous entry of its
chain and a hash over that and its own content, so an edited, inserted or removed entry
shows (`flask audit-verify`). AuditHead holds each chain's newest hash and the anchor left by
the last purge; updating it is the chain's lock. On PostgreSQL a trigger refuses UPDATE and
DELETE on audit_entry, except DELETE inside `flask audit-purge` (session setting)."""
import sqlalchemy as sa

from ..extensions import db
from ..clock import utcnow

CHAINS = ("access", "processing")


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)
    user_id = sa.Column(sa.ForeignKey("user_account.id"), index=True)
    action = sa.Column(sa.String(40), nullable=False)
    target = sa.Column(sa.String(80), nullable=False, default="", index=True)
    detail = sa.Column(sa.String(500), nullable=False, default="")
    address = sa.Column(sa.String(64), nullable=False, default="")
    user_agent = sa.Column(sa.String(200), nullable=False, default="")
    chain = sa.Column(sa.String(12), nullable=False, default="processing")
    prev_hash = sa.Column(sa.String(64), nullable=False, default="")
    hash = sa.Column(sa.String(64), nullable=False, default="")

    user = sa.orm.relationship("User")


class AuditHead(db.Model):
    __tablename__ = "audit_head"
    chain = sa.Column(sa.String(12), primary_key=True)
    last_hash = sa.Column(sa.String(64), nullable=False, default="")
    anchor_hash = sa.Column(sa.String(64), nullable=False, default="")
    entries = sa.Column(sa.Integer, nullable=False, default=0)


@sa.event.listens_for(AuditEntry, "before_update")
def _no_edit(mapper, connection, target):
    raise ValueError("audit entries cannot be edited")


@sa.event.listens_for(AuditEntry, "before_delete")
def _no_delete(mapper, connection, target):
    raise ValueError("audit entries cannot be deleted")
