"""Absences (请假/病假) of workers and leaders; open system overdue alerts closed as superseded
by the overdue list and its daily digest (issue 10).

Revision ID: h10a_1
Revises: h4_1
"""
from alembic import op
import sqlalchemy as sa

revision = "h10a_1"
down_revision = "h4_1"
branch_labels = None
depends_on = None

SUPERSEDED = "已改为逾期名单与每日汇总，不再逐户预警"


def close_open_system_alerts(conn):
    """Overdue is not an emergency any more: each open (or acknowledged) system alert is closed
    as resolved, with an event on its timeline, and leaves the ladder. Returns how many."""
    where = "source = 'system' AND state IN ('open', 'acknowledged')"
    ids = conn.execute(sa.text(f"SELECT id FROM alert WHERE {where}")).scalars().all()
    if not ids:
        return 0
    conn.execute(sa.text("INSERT INTO alert_event (alert_id, at, kind, detail) "
                         f"SELECT id, CURRENT_TIMESTAMP, 'resolved', :detail FROM alert WHERE {where}"),
                 {"detail": SUPERSEDED})
    conn.execute(sa.text(f"UPDATE alert SET state = 'resolved', resolved_at = CURRENT_TIMESTAMP, "
                         f"outcome = :detail, next_escalation_at = NULL WHERE {where}"), {"detail": SUPERSEDED})
    return len(ids)


def upgrade():
    op.create_table(
        "absence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_absence_dates")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_absence_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["user_account.id"],
                                name=op.f("fk_absence_created_by_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absence")),
    )
    with op.batch_alter_table("absence") as batch:
        batch.create_index(batch.f("ix_absence_user_id"), ["user_id"], unique=False)
    where = sa.text("subject_type = 'overdue'")
    op.create_index("uq_notice_overdue_day", "notice", ["user_id", "subject_id"], unique=True,
                    sqlite_where=where, postgresql_where=where)
    close_open_system_alerts(op.get_bind())


def downgrade():
    op.drop_index("uq_notice_overdue_day", table_name="notice")
    op.drop_index(op.f("ix_absence_user_id"), table_name="absence")
    op.drop_table("absence")
