"""Audit trail (PIPL): who saw or changed what, when. Append-only."""
import sqlalchemy as sa

from ..extensions import db
from ..services.clock import utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    id = sa.Column(sa.Integer, primary_key=True)
    at = sa.Column(sa.DateTime, nullable=False, default=utcnow, index=True)
    user_id = sa.Column(sa.ForeignKey("user_account.id"), index=True)
    action = sa.Column(sa.String(40), nullable=False)
    target = sa.Column(sa.String(80), nullable=False, default="")
    detail = sa.Column(sa.String(500), nullable=False, default="")


@sa.event.listens_for(AuditEntry, "before_update")
def _no_edit(mapper, connection, target):
    raise ValueError("audit entries cannot be edited")


@sa.event.listens_for(AuditEntry, "before_delete")
def _no_delete(mapper, connection, target):
    raise ValueError("audit entries cannot be deleted")
