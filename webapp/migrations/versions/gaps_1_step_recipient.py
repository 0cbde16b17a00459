"""A no-answer checklist step names its stop's elder (recipient_id), so a step whose no-answer
never reached the server can still be shown to staff and raise its alert.

Revision ID: gaps_1
Revises: h13_1
"""
from alembic import op
import sqlalchemy as sa

revision = "gaps_1"
down_revision = "h13_1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("meal_delivery_step", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipient_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_meal_delivery_step_recipient_id_meal_recipient"),
                                    "meal_recipient", ["recipient_id"], ["id"], ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("meal_delivery_step", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_meal_delivery_step_recipient_id_meal_recipient"), type_="foreignkey")
        batch_op.drop_column("recipient_id")
