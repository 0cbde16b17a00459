"""Visits of a period by household, corrections left out: an index the dashboards and the district
roll-up read instead of the visit rows (issue 13).

Revision ID: h13_2
Revises: gaps_1
"""
from alembic import op
import sqlalchemy as sa

revision = "h13_2"
down_revision = "gaps_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_visit_occurred_household", "visit", ["occurred_at", "household_id"], unique=False,
                    postgresql_where=sa.text("amends IS NULL"), sqlite_where=sa.text("amends IS NULL"))


def downgrade():
    op.drop_index("ix_visit_occurred_household", table_name="visit")
