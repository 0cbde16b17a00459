"""Daily check-in (enrolments, pauses, check-ins) and SOS presses

Revision ID: h10b_1
Revises: h10a_1
"""
from alembic import op
import sqlalchemy as sa

revision = "h10b_1"
down_revision = "h10a_1"
branch_labels = None
depends_on = None


def _field_record():
    return [sa.Column("uuid", sa.String(length=36), nullable=False, unique=True),
            sa.Column("recorded_at", sa.DateTime(), nullable=False),
            sa.Column("received_at", sa.DateTime(), nullable=False),
            sa.Column("author_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False)]


def upgrade():
    op.create_table(
        "checkin_enrolment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("household.id"), nullable=False, unique=True),
        sa.Column("deadline_minutes", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("enrolled_by", sa.Integer(), sa.ForeignKey("user_account.id")),
        sa.Column("enrolled_at", sa.DateTime(), nullable=False),
        sa.Column("reminded_on", sa.Date()),
        sa.Column("alerted_on", sa.Date()))
    op.create_table(
        "checkin_pause",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("household.id"), nullable=False),
        sa.Column("reason", sa.String(length=10), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("user_account.id")),
        sa.Column("created_at", sa.DateTime(), nullable=False))
    op.create_index("ix_checkin_pause_household_dates", "checkin_pause", ["household_id", "starts_on", "ends_on"])
    op.create_table(
        "checkin",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("household.id"), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        *_field_record())
    op.create_index("ix_checkin_household_recorded", "checkin", ["household_id", "recorded_at"])
    op.create_index("ix_checkin_author_id", "checkin", ["author_id"])
    op.create_table(
        "sos_press",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("household.id"), nullable=False),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alert.id")),
        sa.Column("location", sa.String(length=200), nullable=False),
        *_field_record())
    op.create_index("ix_sos_press_household_id", "sos_press", ["household_id"])
    op.create_index("ix_sos_press_alert_id", "sos_press", ["alert_id"])
    op.create_index("ix_sos_press_author_id", "sos_press", ["author_id"])


def downgrade():
    op.drop_table("sos_press")
    op.drop_table("checkin")
    op.drop_table("checkin_pause")
    op.drop_table("checkin_enrolment")
