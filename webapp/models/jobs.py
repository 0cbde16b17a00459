"""Long-running work (imports) with progress a page can poll."""
import sqlalchemy as sa

from ..extensions import db
from ..clock import utcnow


class ImportJob(db.Model):
    __tablename__ = "import_job"
    id = sa.Column(sa.Integer, primary_key=True)
    community_id = sa.Column(sa.ForeignKey("community.id"), nullable=False)
    user_id = sa.Column(sa.ForeignKey("user_account.id"), nullable=False)
    filename = sa.Column(sa.String(200), nullable=False)
    token = sa.Column(sa.String(40), unique=True, nullable=False)
    status = sa.Column(sa.String(12), nullable=False, default="previewed")  # previewed/running/done/failed
    total_rows = sa.Column(sa.Integer, nullable=False, default=0)
    bad_rows = sa.Column(sa.Integer, nullable=False, default=0)
    done_rows = sa.Column(sa.Integer, nullable=False, default=0)
    only_valid = sa.Column(sa.Boolean, nullable=False, default=False)
    message = sa.Column(sa.String(500), nullable=False, default="")
    # The checked rows and the bad rows with reasons, kept until the admin decides.
    preview = sa.Column(sa.JSON, nullable=False, default=dict)
    created_at = sa.Column(sa.DateTime, nullable=False, default=utcnow)


class SweepRun(db.Model):
    """When each of the scheduler's sweeps (and the whole tick, name "tick") last completed,
    so health checks can tell a stalled scheduler and hourly sweeps survive restarts."""
    __tablename__ = "sweep_run"
    name = sa.Column(sa.String(40), primary_key=True)
    last_started_at = sa.Column(sa.DateTime)
    last_completed_at = sa.Column(sa.DateTime)
    last_result = sa.Column(sa.String(200), nullable=False, default="")
