"""ID numbers unique per community, not across communities (issue 9, finding 1)

Revision ID: h6_1
Revises: a4db7c0815ed
"""
from alembic import op

revision = "h6_1"
down_revision = "h10_1"
branch_labels = None
depends_on = None


def _sqlite_foreign_keys(on):
    """SQLite rebuilds the table to change a constraint; the rows that refer to residents must not
    block dropping the old copy (the rebuilt table keeps every id)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_constraint("uq_resident_id_number", type_="unique")
        batch_op.create_unique_constraint("uq_resident_community_id_number", ["community_id", "id_number"])
    _sqlite_foreign_keys(True)


def downgrade():
    _sqlite_foreign_keys(False)
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_constraint("uq_resident_community_id_number", type_="unique")
        batch_op.create_unique_constraint("uq_resident_id_number", ["id_number"])
    _sqlite_foreign_keys(True)
