"""Zero reports (零上报), each phone's last sync with its outbox counts, and an index for the
dashboards (resident_category by category)

Revision ID: h13_1
Revises: h12_1
"""
from alembic import op
import sqlalchemy as sa

revision = "h13_1"
down_revision = "h12_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "zero_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"]),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
        sa.UniqueConstraint("grid_id", "day", name="uq_zero_report_grid_day"),
    )
    op.create_index("ix_zero_report_grid_id", "zero_report", ["grid_id"])
    op.create_index("ix_zero_report_author_id", "zero_report", ["author_id"])
    op.create_table(
        "device_sync",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_resident_category_category_id", "resident_category", ["category_id"])


def downgrade():
    op.drop_index("ix_resident_category_category_id", table_name="resident_category")
    op.drop_table("device_sync")
    op.drop_index("ix_zero_report_author_id", table_name="zero_report")
    op.drop_index("ix_zero_report_grid_id", table_name="zero_report")
    op.drop_table("zero_report")
