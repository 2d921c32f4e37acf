"""loans: products, loans and schedules, repayments, credit lines, COB runs, the ledger

Revision ID: 0004_loans
Revises: 0001_foundation
Create Date: 2026-11-25 12:23:57.613141

The ledger tables enforce double entry in the database, not only in Python (see
lendbridge/ledger/models.py for the design):
- journal_entries declares line_count and equal totals (CHECK); a line's number is bounded
  by its entry's line_count (CHECK + a trigger matching the entry, once per statement on
  PostgreSQL) and unique, so lines cannot be added to a complete entry; the entry
  references its closing line by a DEFERRED foreign key, so an entry without all its
  lines cannot commit;
- PostgreSQL: a DEFERRABLE INITIALLY DEFERRED constraint trigger compares each entry's
  line count and sums with its declared totals at commit;
- SQLite (no deferred triggers): lines go in in order, and inserting the closing line
  checks the sums (with the deferred FK, that covers every line);
- both tables are append-only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from lendbridge.migrations.append_only import drop_append_only, make_append_only

revision = "0004_loans"
down_revision = "0001_foundation"
branch_labels = ("loans",)
depends_on = None

_CLOSING_LINE = "fk_journal_entries_closing_line"

_PG_BALANCED = """
CREATE OR REPLACE FUNCTION journal_entry_balanced() RETURNS trigger AS $$
DECLARE
    n integer;
    d bigint;
    c bigint;
BEGIN
    SELECT count(*), coalesce(sum(debit), 0), coalesce(sum(credit), 0) INTO n, d, c
    FROM journal_lines WHERE entry_id = NEW.id;
    IF n <> NEW.line_count OR d <> NEW.total_debit OR c <> NEW.total_credit OR d <> c THEN
        RAISE EXCEPTION 'journal entry % is unbalanced or incomplete: % lines (declared %), debits %, credits %',
            NEW.id, n, NEW.line_count, d, c USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

_PG_LINES_BELONG = """
CREATE OR REPLACE FUNCTION journal_lines_belong() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM new_lines n
        LEFT JOIN journal_entries e ON e.id = n.entry_id AND e.line_count = n.entry_line_count
        WHERE e.id IS NULL
    ) THEN
        RAISE EXCEPTION 'journal line of a missing entry, or of another line count'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

_SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER journal_lines_belong BEFORE INSERT ON journal_lines
    WHEN NOT EXISTS (
        SELECT 1 FROM journal_entries WHERE id = NEW.entry_id AND line_count = NEW.entry_line_count)
    BEGIN SELECT RAISE(ABORT, 'journal line of a missing entry, or of another line count'); END
    """,
    """
    CREATE TRIGGER journal_lines_in_order BEFORE INSERT ON journal_lines
    WHEN NEW.line_no > 1 AND NOT EXISTS (
        SELECT 1 FROM journal_lines WHERE entry_id = NEW.entry_id AND line_no = NEW.line_no - 1)
    BEGIN SELECT RAISE(ABORT, 'journal lines must be inserted in order'); END
    """,
    """
    CREATE TRIGGER journal_lines_balanced BEFORE INSERT ON journal_lines
    WHEN NEW.line_no = NEW.entry_line_count AND (
        (SELECT coalesce(sum(debit), 0) FROM journal_lines WHERE entry_id = NEW.entry_id) + NEW.debit
            <> (SELECT total_debit FROM journal_entries WHERE id = NEW.entry_id)
        OR (SELECT coalesce(sum(credit), 0) FROM journal_lines WHERE entry_id = NEW.entry_id) + NEW.credit
            <> (SELECT total_credit FROM journal_entries WHERE id = NEW.entry_id))
    BEGIN SELECT RAISE(ABORT, 'journal entry is unbalanced'); END
    """,
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table('products',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('borrower_type', sa.String(length=20), nullable=False),
    sa.Column('methods', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('amount_min', sa.BigInteger(), nullable=False),
    sa.Column('amount_max', sa.BigInteger(), nullable=False),
    sa.Column('term_min', sa.Integer(), nullable=False),
    sa.Column('term_max', sa.Integer(), nullable=False),
    sa.Column('rate_min', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('rate_max', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('penalty_rate', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('day_count', sa.String(length=10), nullable=False),
    sa.Column('upfront_fee', sa.BigInteger(), nullable=False),
    sa.Column('upfront_fee_rate', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('monthly_fee_rate', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('prepayment_fee_rate', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('eligibility', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('allocation_order', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('future_rule', sa.String(length=20), nullable=False),
    sa.Column('rate_grid', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('pricing_reward', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('subsidy', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('classification_thresholds', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('custody_account', sa.String(length=60), nullable=True),
    sa.Column('partner_ids', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('max_apr', sa.String(length=24), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index('ix_products_status_mode', ['status', 'livemode', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_tenant_id'), ['tenant_id'], unique=False)
    op.create_table('loans',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('institution_id', sa.String(length=40), nullable=False),
    sa.Column('borrower_id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('application_id', sa.String(length=40), nullable=True),
    sa.Column('offer_id', sa.String(length=40), nullable=True),
    sa.Column('test_clock_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('principal', sa.BigInteger(), nullable=False),
    sa.Column('annual_rate', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('term', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('upfront_fee', sa.BigInteger(), nullable=False),
    sa.Column('monthly_fee_rate', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('prepayment_fee_rate', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('penalty_rate', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('day_count', sa.String(length=10), nullable=False),
    sa.Column('allocation_order', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('future_rule', sa.String(length=20), nullable=False),
    sa.Column('classification_thresholds', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('reward_after', sa.Integer(), nullable=False),
    sa.Column('reward_rate_reduction', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('apr_nominal', sa.String(length=24), nullable=False),
    sa.Column('apr_effective', sa.String(length=24), nullable=False),
    sa.Column('disburse_to', sa.String(length=10), nullable=False),
    sa.Column('merchant', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
    sa.Column('subsidy', sa.BigInteger(), nullable=False),
    sa.Column('subsidy_target_rate', sa.Numeric(precision=12, scale=10), nullable=True),
    sa.Column('principal_outstanding', sa.BigInteger(), nullable=False),
    sa.Column('interest_receivable', sa.BigInteger(), nullable=False),
    sa.Column('penalty_receivable', sa.BigInteger(), nullable=False),
    sa.Column('fee_receivable', sa.BigInteger(), nullable=False),
    sa.Column('deferred_subsidy', sa.BigInteger(), nullable=False),
    sa.Column('refund_due', sa.BigInteger(), nullable=False),
    sa.Column('recovered', sa.BigInteger(), nullable=False),
    sa.Column('accrued_through', sa.Date(), nullable=True),
    sa.Column('days_past_due', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=8), nullable=False),
    sa.Column('classification', sa.String(length=20), nullable=False),
    sa.Column('on_time_instalments', sa.Integer(), nullable=False),
    sa.Column('reward_earned', sa.Boolean(), nullable=False),
    sa.Column('agreement_hash', sa.String(length=64), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disbursed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disbursed_on', sa.Date(), nullable=True),
    sa.Column('disbursement_ref', sa.String(length=100), nullable=True),
    sa.Column('disbursement_failure', sa.String(length=200), nullable=True),
    sa.Column('paid_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('charged_off_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('charge_off_reason', sa.String(length=200), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans')),
    postgresql_with={"fillfactor": 70},
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index('ix_loans_institution', ['institution_id', 'livemode', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_product_id'), ['product_id'], unique=False)
        batch_op.create_index('ix_loans_tenant_borrower', ['tenant_id', 'livemode', 'borrower_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_loans_tenant_status', ['tenant_id', 'livemode', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_test_clock_id'), ['test_clock_id'], unique=False)
    op.create_table('loan_instalments',
    sa.Column('loan_id', sa.String(length=40), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('principal', sa.BigInteger(), nullable=False),
    sa.Column('interest', sa.BigInteger(), nullable=False),
    sa.Column('fee', sa.BigInteger(), nullable=False),
    sa.Column('interest_accrued', sa.BigInteger(), nullable=False),
    sa.Column('fee_charged', sa.BigInteger(), nullable=False),
    sa.Column('penalty_accrued', sa.BigInteger(), nullable=False),
    sa.Column('penalty_base', sa.BigInteger(), nullable=False),
    sa.Column('penalty_since', sa.Date(), nullable=True),
    sa.Column('subsidy_income', sa.BigInteger(), nullable=False),
    sa.Column('subsidy_recognised', sa.BigInteger(), nullable=False),
    sa.Column('paid_principal', sa.BigInteger(), nullable=False),
    sa.Column('paid_interest', sa.BigInteger(), nullable=False),
    sa.Column('paid_fee', sa.BigInteger(), nullable=False),
    sa.Column('paid_penalty', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_instalments_loan_id_loans')),
    sa.PrimaryKeyConstraint('loan_id', 'number', name=op.f('pk_loan_instalments')),
    postgresql_with={"fillfactor": 80},
    )
    with op.batch_alter_table('loan_instalments', schema=None) as batch_op:
        batch_op.create_index('ix_loan_instalments_status_due', ['status', 'due_date'], unique=False)
    op.create_table('loan_agreements',
    sa.Column('loan_id', sa.String(length=40), nullable=False),
    sa.Column('template_version', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.String(length=128), nullable=False),
    sa.Column('public_key', sa.String(length=130), nullable=False),
    sa.Column('signer', sa.String(length=200), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_loan_agreements_loan_id_loans')),
    sa.PrimaryKeyConstraint('loan_id', name=op.f('pk_loan_agreements'))
    )
    op.create_table('credit_lines',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('institution_id', sa.String(length=40), nullable=False),
    sa.Column('borrower_id', sa.String(length=40), nullable=False),
    sa.Column('product_id', sa.String(length=40), nullable=False),
    sa.Column('application_id', sa.String(length=40), nullable=True),
    sa.Column('test_clock_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('limit_amount', sa.BigInteger(), nullable=False),
    sa.Column('annual_rate', sa.Numeric(precision=12, scale=10), nullable=False),
    sa.Column('day_count', sa.String(length=10), nullable=False),
    sa.Column('apr_nominal', sa.String(length=24), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('principal_outstanding', sa.BigInteger(), nullable=False),
    sa.Column('interest_receivable', sa.BigInteger(), nullable=False),
    sa.Column('balance_days', sa.BigInteger(), nullable=False),
    sa.Column('interest_accrued_total', sa.BigInteger(), nullable=False),
    sa.Column('accrued_through', sa.Date(), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_lines'))
    )
    with op.batch_alter_table('credit_lines', schema=None) as batch_op:
        batch_op.create_index('ix_credit_lines_institution', ['institution_id', 'livemode', 'id'], unique=False)
        batch_op.create_index('ix_credit_lines_tenant', ['tenant_id', 'livemode', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_lines_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credit_lines_test_clock_id'), ['test_clock_id'], unique=False)
    op.create_table('draws',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('credit_line_id', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('journal_entry_id', sa.String(length=40), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['credit_line_id'], ['credit_lines.id'], name=op.f('fk_draws_credit_line_id_credit_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draws'))
    )
    with op.batch_alter_table('draws', schema=None) as batch_op:
        batch_op.create_index('ix_draws_line', ['credit_line_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_draws_tenant_id'), ['tenant_id'], unique=False)
    op.create_table('repayments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loan_id', sa.String(length=40), nullable=True),
    sa.Column('credit_line_id', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('external_ref', sa.String(length=100), nullable=True),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('principal', sa.BigInteger(), nullable=False),
    sa.Column('interest', sa.BigInteger(), nullable=False),
    sa.Column('fee', sa.BigInteger(), nullable=False),
    sa.Column('penalty', sa.BigInteger(), nullable=False),
    sa.Column('prepaid_principal', sa.BigInteger(), nullable=False),
    sa.Column('prepayment_interest', sa.BigInteger(), nullable=False),
    sa.Column('prepayment_fee', sa.BigInteger(), nullable=False),
    sa.Column('refund_due', sa.BigInteger(), nullable=False),
    sa.Column('recovery', sa.BigInteger(), nullable=False),
    sa.Column('future_rule', sa.String(length=20), nullable=True),
    sa.Column('allocation', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('journal_entry_id', sa.String(length=40), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['credit_line_id'], ['credit_lines.id'], name=op.f('fk_repayments_credit_line_id_credit_lines')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_repayments_loan_id_loans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repayments')),
    sa.UniqueConstraint('credit_line_id', 'external_ref', name='uq_repayments_line_ref'),
    sa.UniqueConstraint('loan_id', 'external_ref', name='uq_repayments_loan_ref')
    )
    with op.batch_alter_table('repayments', schema=None) as batch_op:
        batch_op.create_index('ix_repayments_line', ['credit_line_id', 'id'], unique=False)
        batch_op.create_index('ix_repayments_loan', ['loan_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_repayments_tenant_id'), ['tenant_id'], unique=False)
    op.create_table('cob_runs',
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.Column('loans', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'business_date', name=op.f('pk_cob_runs'))
    )
    op.create_table('ledger_chain_heads',
    sa.Column('chain', sa.String(length=80), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('chain', name=op.f('pk_ledger_chain_heads'))
    )
    # The entry -> closing line FK is circular: inline on SQLite (no ALTER ... ADD
    # CONSTRAINT there, forward references allowed), added after journal_lines on PostgreSQL.
    closing_line = (
        []
        if postgres
        else [
            sa.ForeignKeyConstraint(
                ["id", "line_count"],
                ["journal_lines.entry_id", "journal_lines.line_no"],
                name=_CLOSING_LINE,
                deferrable=True,
                initially="DEFERRED",
            )
        ]
    )
    op.create_table('journal_entries',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('institution_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.Column('loan_id', sa.String(length=40), nullable=True),
    sa.Column('entry_type', sa.String(length=30), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('memo', sa.String(length=200), nullable=False),
    sa.Column('reverses', sa.String(length=40), nullable=True),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total_debit', sa.BigInteger(), nullable=False),
    sa.Column('total_credit', sa.BigInteger(), nullable=False),
    sa.Column('chain', sa.String(length=80), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('line_count >= 2', name=op.f('ck_journal_entries_two_lines')),
    sa.CheckConstraint('total_debit = total_credit AND total_debit > 0', name=op.f('ck_journal_entries_balanced')),
    *closing_line,
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('chain', 'seq', name='uq_journal_entries_chain_seq'),
    )
    with op.batch_alter_table('journal_entries', schema=None) as batch_op:
        batch_op.create_index('ix_journal_entries_book_date', ['institution_id', 'livemode', 'business_date'], unique=False)
    op.create_table('journal_lines',
    sa.Column('entry_id', sa.String(length=40), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('entry_line_count', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=30), nullable=False),
    sa.Column('debit', sa.BigInteger(), nullable=False),
    sa.Column('credit', sa.BigInteger(), nullable=False),
    sa.Column('loan_id', sa.String(length=40), nullable=True),
    sa.CheckConstraint('debit >= 0 AND credit >= 0 AND ((debit > 0 AND credit = 0) OR (debit = 0 AND credit > 0))', name=op.f('ck_journal_lines_one_side')),
    sa.CheckConstraint('line_no >= 1 AND line_no <= entry_line_count', name=op.f('ck_journal_lines_line_no_in_entry')),
    sa.PrimaryKeyConstraint('entry_id', 'line_no', name=op.f('pk_journal_lines'))
    )
    with op.batch_alter_table('journal_lines', schema=None) as batch_op:
        batch_op.create_index('ix_journal_lines_loan', ['loan_id', 'entry_id'], unique=False)
    if postgres:
        op.create_foreign_key(
            _CLOSING_LINE,
            "journal_entries",
            "journal_lines",
            ["id", "line_count"],
            ["entry_id", "line_no"],
            deferrable=True,
            initially="DEFERRED",
        )
        op.execute(_PG_LINES_BELONG)
        op.execute(
            "CREATE TRIGGER journal_lines_belong AFTER INSERT ON journal_lines "
            "REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION journal_lines_belong()"
        )
        op.execute(_PG_BALANCED)
        op.execute(
            "CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries "
            "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_balanced()"
        )
    else:
        for ddl in _SQLITE_TRIGGERS:
            op.execute(ddl)
    make_append_only("journal_entries")
    make_append_only("journal_lines")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    drop_append_only("journal_lines")
    drop_append_only("journal_entries")
    if postgres:
        op.execute("DROP TRIGGER IF EXISTS journal_entries_balanced ON journal_entries")
        op.execute("DROP FUNCTION IF EXISTS journal_entry_balanced()")
        op.execute("DROP TRIGGER IF EXISTS journal_lines_belong ON journal_lines")
        op.execute("DROP FUNCTION IF EXISTS journal_lines_belong()")
        op.drop_constraint(_CLOSING_LINE, "journal_entries", type_="foreignkey")
    else:
        op.execute("DROP TRIGGER IF EXISTS journal_lines_balanced")
        op.execute("DROP TRIGGER IF EXISTS journal_lines_in_order")
        op.execute("DROP TRIGGER IF EXISTS journal_lines_belong")
    for table in (
        "journal_lines",
        "journal_entries",
        "ledger_chain_heads",
        "cob_runs",
        "repayments",
        "draws",
        "credit_lines",
        "loan_agreements",
        "loan_instalments",
        "loans",
        "products",
    ):
        op.drop_table(table)
