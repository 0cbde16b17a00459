"""Purging a resident who moved away (PIPL: no longer than necessary), with everything that
names them, while counts stay intact.

- Deleted: the resident row (name, ID number, phone, birth date), their residencies, care
  categories and invitations; their app's push subscriptions and notices.
- Kept, without them: visits (their id is taken out of residents_seen; the visit still counts
  for the household), alerts raised from their app (location blanked), households.
- Their login account cannot be deleted because the audit trail points at it (append-only):
  it is disabled and stripped of name, username, phone and password.
- Audit entries hold ids, never names, and stay for their retention period.
"""
import secrets

from sqlalchemy import delete, select

from ..extensions import db
from ..models import Alert, Invitation, Notice, PushSubscription, Resident, Residency, User, Visit
from . import audit


class PurgeError(ValueError):
    pass


def purge_resident(resident_id, force=False):
    """A durable boundary (CLI command): commits itself. Returns a summary dict."""
    resident = db.session.get(Resident, resident_id)
    if resident is None:
        raise PurgeError(f"no resident {resident_id}")
    current = [r for r in resident.residencies if r.end_date is None]
    if current and not force:
        raise PurgeError("the resident still lives in a household; end the residency first (or --force)")
    summary = {"resident": resident_id, "visits_cleaned": 0, "accounts": 0}
    for visit in db.session.scalars(select(Visit)):
        seen = list(visit.residents_seen or [])
        if resident_id in seen or str(resident_id) in seen:
            visit.residents_seen = [s for s in seen if str(s) != str(resident_id)]
            summary["visits_cleaned"] += 1
    for user in db.session.scalars(select(User).where(User.resident_id == resident_id)):
        db.session.execute(delete(PushSubscription).where(PushSubscription.user_id == user.id))
        db.session.execute(delete(Notice).where(Notice.user_id == user.id))
        for alert in db.session.scalars(select(Alert).where(Alert.author_id == user.id)):
            alert.location = ""
        user.name = "已清除"
        user.username = f"purged-{user.id}"
        user.phone = None
        user.active = False
        user.locale = None
        user.resident_id = None
        user.set_password(secrets.token_urlsafe(32))
        user.session_token = secrets.token_hex(16)
        user.reset_code_hash = None
        summary["accounts"] += 1
    db.session.execute(delete(Invitation).where(Invitation.resident_id == resident_id))
    resident.categories = []
    db.session.execute(delete(Residency).where(Residency.resident_id == resident_id))
    db.session.flush()
    db.session.delete(resident)
    audit.record(None, "purge_resident", "resident", resident_id,
                 f"visits_cleaned={summary['visits_cleaned']} accounts={summary['accounts']}")
    db.session.commit()
    return summary
