"""ledger rollups: per book, date and account totals below a mark, for the trial balance

Revision ID: 0010_ledger_rollups
Revises: 0004_loans
Create Date: 2026-11-25 19:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_ledger_rollups"
down_revision = "0004_loans"
branch_labels = None
depends_on = None

# The mark starts below every id: "je" sorts before any "je_<ulid>".
_START = "je"
ROLLUP_LOCK = 0x4C42524F4C4C  # the advisory lock key; lendbridge.ledger.rollups.ROLLUP_LOCK

_PG_BELOW_MARK = """
CREATE OR REPLACE FUNCTION journal_entry_above_mark() RETURNS trigger AS $$
BEGIN
    -- Shared with every other poster; the rollup takes it exclusively to move the fence,
    -- so it waits for in-flight postings and later ones read the moved fence.
    PERFORM pg_advisory_xact_lock_shared({lock});
    IF NEW.id < COALESCE((SELECT fence FROM ledger_rollup_mark WHERE id = 1), '') THEN
        RAISE EXCEPTION 'journal entry % is older than the ledger rollup mark; post it again', NEW.id
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql
""".replace("{lock}", str(ROLLUP_LOCK))


def upgrade() -> None:
    op.create_table(
        "ledger_rollups",
        sa.Column("institution_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("account", sa.String(length=30), nullable=False),
        sa.Column("debit", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "institution_id", "livemode", "business_date", "account", name=op.f("pk_ledger_rollups")
        ),
    )
    op.create_table(
        "ledger_rollup_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fence", sa.String(length=40), nullable=False),
        sa.Column("rolled", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_rollup_mark")),
    )
    op.execute(f"INSERT INTO ledger_rollup_mark (id, fence, rolled) VALUES (1, '{_START}', '{_START}')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_BELOW_MARK)
        op.execute(
            "CREATE TRIGGER journal_entries_above_mark BEFORE INSERT ON journal_entries "
            "FOR EACH ROW EXECUTE FUNCTION journal_entry_above_mark()"
        )
    else:
        op.execute(
            "CREATE TRIGGER journal_entries_above_mark BEFORE INSERT ON journal_entries "
            "WHEN NEW.id < COALESCE((SELECT fence FROM ledger_rollup_mark WHERE id = 1), '') "
            "BEGIN SELECT RAISE(ABORT, 'journal entry older than the ledger rollup mark; post it again'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS journal_entries_above_mark ON journal_entries")
        op.execute("DROP FUNCTION IF EXISTS journal_entry_above_mark()")
    else:
        op.execute("DROP TRIGGER IF EXISTS journal_entries_above_mark")
    op.drop_table("ledger_rollup_mark")
    op.drop_table("ledger_rollups")
