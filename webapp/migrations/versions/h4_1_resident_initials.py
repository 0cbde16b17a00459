"""Resident.initials: pinyin initials of the name, for search (zs finds 张三)

Revision ID: h4_1
Revises: a4db7c0815ed
"""
from alembic import op
import sqlalchemy as sa

revision = "h4_1"
down_revision = "h7_1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("resident") as batch:
        batch.add_column(sa.Column("initials", sa.String(length=50), nullable=False, server_default=""))
        batch.create_index("ix_resident_initials", ["initials"])
    # fill it for the residents already there
    from webapp.models.registry import name_initials
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name FROM resident")).all()
    if rows:
        conn.execute(sa.text("UPDATE resident SET initials = :initials WHERE id = :id"),
                     [{"id": rid, "initials": name_initials(name)} for rid, name in rows])


def downgrade():
    op.drop_index("ix_resident_initials", table_name="resident")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite 3.35+ drops a column in place; a batch copy of the table would trip
        # the foreign keys of residency and invitation
        op.execute("ALTER TABLE resident DROP COLUMN initials")
    else:
        op.drop_column("resident", "initials")
