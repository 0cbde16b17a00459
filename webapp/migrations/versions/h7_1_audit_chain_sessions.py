"""Audit trail: address, user agent, hash chains, append-only trigger; users: reset codes

Revision ID: h7_1
Revises: a4db7c0815ed
Create Date: 2026-11-23 12:40:00

"""
import secrets

from alembic import op
import sqlalchemy as sa


revision = "h7_1"
down_revision = "h6_1"
branch_labels = None
depends_on = None

GUARD = """
CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('linli.audit_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit entries are append-only';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""


def upgrade():
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("user_agent", sa.String(length=200), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("chain", sa.String(length=12), nullable=False, server_default="processing"))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_audit_entry_target"), ["target"], unique=False)
    op.create_table(
        "audit_head",
        sa.Column("chain", sa.String(length=12), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("anchor_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_head")),
    )
    # Entries written before the chain existed are its anchor-less start: seal them now.
    conn = op.get_bind()
    import hashlib
    for chain in ("access", "processing"):
        conn.execute(sa.text("INSERT INTO audit_head (chain, last_hash, anchor_hash, entries) "
                             "VALUES (:c, '', '', 0)"), {"c": chain})
    rows = conn.execute(sa.text("SELECT id, at, user_id, action, target, detail FROM audit_entry ORDER BY id")).all()
    prev = ""
    for r in rows:
        at = r.at if not isinstance(r.at, str) else __import__("datetime").datetime.fromisoformat(r.at)
        parts = [prev, "processing", at.isoformat(timespec="microseconds"), str(r.user_id or ""), r.action,
                 r.target, r.detail, "", ""]
        h = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
        conn.execute(sa.text("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE id = :i"),
                     {"p": prev, "h": h, "i": r.id})
        prev = h
    if rows:
        conn.execute(sa.text("UPDATE audit_head SET last_hash = :h, entries = :n WHERE chain = 'processing'"),
                     {"h": prev, "n": len(rows)})

    # Plain ADD COLUMN (no batch): on SQLite a batch would recreate user_account, which the
    # audit trail and everything else reference.
    op.add_column("user_account", sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    op.add_column("user_account", sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                            server_default=sa.false()))
    op.add_column("user_account", sa.Column("reset_code_hash", sa.String(length=256), nullable=True))
    op.add_column("user_account", sa.Column("reset_code_expires", sa.DateTime(), nullable=True))
    for (uid,) in conn.execute(sa.text("SELECT id FROM user_account WHERE session_token = '0'")).all():
        conn.execute(sa.text("UPDATE user_account SET session_token = :t WHERE id = :i"),
                     {"t": secrets.token_hex(16), "i": uid})

    if conn.dialect.name == "postgresql":
        op.execute(GUARD)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS audit_entry_append_only()")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("reset_code_expires")
        batch_op.drop_column("reset_code_hash")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("password_changed_at")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_target"))
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("chain")
        batch_op.drop_column("user_agent")
        batch_op.drop_column("address")
