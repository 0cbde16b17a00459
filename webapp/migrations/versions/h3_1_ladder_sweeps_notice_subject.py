"""Timed ladder and scheduler: notices about any subject, one open system alert per
household, when each scheduler sweep last completed

Revision ID: h3_1
Revises: a4db7c0815ed
Create Date: 2026-11-23 13:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "h3_1"
down_revision = "a4db7c0815ed"
branch_labels = None
depends_on = None

OPEN_SYSTEM = "source = 'system' AND state IN ('open', 'acknowledged')"


def upgrade():
    # A notice refers to any subject: (subject_type, subject_id) instead of alert_id.
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_type", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("subject_id", sa.Integer(), nullable=True))
    op.execute("UPDATE notice SET subject_type = 'alert', subject_id = alert_id WHERE alert_id IS NOT NULL")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_alert_id")
        batch_op.drop_constraint("fk_notice_alert_id_alert", type_="foreignkey")
        batch_op.drop_column("alert_id")
        batch_op.create_index("ix_notice_subject", ["subject_type", "subject_id"], unique=False)

    # Before the guard: any duplicate open system alerts (from a race) keep only the oldest open.
    op.execute(
        "UPDATE alert SET state = 'resolved', next_escalation_at = NULL, "
        "outcome = '重复的系统预警，已合并到同一户较早的一条' "
        f"WHERE {OPEN_SYSTEM} AND id NOT IN "
        f"(SELECT keep FROM (SELECT MIN(id) AS keep FROM alert WHERE {OPEN_SYSTEM} GROUP BY household_id) AS k)")
    op.create_index("uq_alert_open_system", "alert", ["household_id"], unique=True,
                    sqlite_where=sa.text(OPEN_SYSTEM), postgresql_where=sa.text(OPEN_SYSTEM))

    op.create_table(
        "sweep_run",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_started_at", sa.DateTime(), nullable=True),
        sa.Column("last_completed_at", sa.DateTime(), nullable=True),
        sa.Column("last_result", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sweep_run")),
    )


def downgrade():
    op.drop_table("sweep_run")
    op.drop_index("uq_alert_open_system", table_name="alert")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("alert_id", sa.Integer(), nullable=True))
    op.execute("UPDATE notice SET alert_id = subject_id WHERE subject_type = 'alert'")
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_subject")
        batch_op.drop_column("subject_type")
        batch_op.drop_column("subject_id")
        batch_op.create_foreign_key("fk_notice_alert_id_alert", "alert", ["alert_id"], ["id"])
        batch_op.create_index("ix_notice_alert_id", ["alert_id"], unique=False)
