"""payments: custody accounts, payment instructions and attempts, mandates, reconciliation

Revision ID: 0007_payments
Revises: 0001_foundation
Create Date: 2026-11-25 12:24:16.728539
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0007_payments'
down_revision = '0001_foundation'
branch_labels = ('payments',)
depends_on = None


def upgrade() -> None:
    op.create_table('custody_accounts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('bank_name', sa.String(length=100), nullable=False),
    sa.Column('bank_code', sa.String(length=20), nullable=False),
    sa.Column('account_number', sa.String(length=40), nullable=False),
    sa.Column('account_holder', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=True),
    sa.Column('balance_as_of', sa.DateTime(timezone=True), nullable=True),
    sa.Column('statement_date', sa.Date(), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_custody_accounts')),
    sa.UniqueConstraint('livemode', 'bank_code', 'account_number', name='uq_custody_accounts_number')
    )
    with op.batch_alter_table('custody_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_custody_accounts_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('uq_custody_accounts_primary', ['tenant_id', 'livemode'], unique=True, sqlite_where=sa.text('is_primary'), postgresql_where=sa.text('is_primary'))

    op.create_table('mandates',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loan_id', sa.String(length=40), nullable=False),
    sa.Column('borrower_id', sa.String(length=40), nullable=False),
    sa.Column('card_bank', sa.String(length=20), nullable=False),
    sa.Column('card_last4', sa.String(length=4), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mandates')),
    sa.UniqueConstraint('tenant_id', 'livemode', 'loan_id', name='uq_mandates_loan')
    )
    with op.batch_alter_table('mandates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mandates_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('reconciliation_reports',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('breaks', sa.Integer(), nullable=False),
    sa.Column('open_breaks', sa.Integer(), nullable=False),
    sa.Column('double_payouts', sa.Integer(), nullable=False),
    sa.Column('sources', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_reports'))
    )
    with op.batch_alter_table('reconciliation_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reconciliation_reports_business_date'), ['business_date'], unique=False)

    op.create_table('payment_instructions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('instruction_id', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=40), nullable=False),
    sa.Column('operation', sa.String(length=40), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=12), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('institution_id', sa.String(length=40), nullable=False),
    sa.Column('custody_account_id', sa.String(length=40), nullable=False),
    sa.Column('counterparty_kind', sa.String(length=20), nullable=False),
    sa.Column('counterparty_ref', sa.String(length=60), nullable=False),
    sa.Column('counterparty_bank', sa.String(length=20), nullable=False),
    sa.Column('counterparty_last4', sa.String(length=4), nullable=False),
    sa.Column('mandate_id', sa.String(length=40), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('test_clock_id', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('channel_ref', sa.String(length=64), nullable=True),
    sa.Column('failure_code', sa.String(length=60), nullable=True),
    sa.Column('spent_channels', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('route', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('submissions', sa.Integer(), nullable=False),
    sa.Column('attempts_logged', sa.Integer(), nullable=False),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('needs_attention', sa.Boolean(), nullable=False),
    sa.Column('attention_reason', sa.String(length=200), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('succeeded_on', sa.Date(), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['custody_account_id'], ['custody_accounts.id'], name=op.f('fk_payment_instructions_custody_account_id_custody_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_instructions')),
    sa.UniqueConstraint('instruction_id', name=op.f('uq_payment_instructions_instruction_id')),
    sa.UniqueConstraint('subject_id', 'operation', 'sequence', name='uq_payment_instructions_identity'),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_instructions_amount_positive')),
    sa.CheckConstraint("state IN ('pending', 'processing', 'unknown', 'succeeded', 'failed', 'reversed')", name=op.f('ck_payment_instructions_state_known'))
    )
    with op.batch_alter_table('payment_instructions', schema=None) as batch_op:
        batch_op.create_index('ix_payment_instructions_open', ['state', 'next_check_at'], unique=False)
        batch_op.create_index('ix_payment_instructions_settled', ['succeeded_on', 'channel'], unique=False)
        batch_op.create_index('ix_payment_instructions_subject', ['tenant_id', 'livemode', 'subject_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payment_instructions_tenant_id'), ['tenant_id'], unique=False)

    op.create_table('reconciliation_breaks',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('report_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('instruction_id', sa.String(length=32), nullable=True),
    sa.Column('payment_id', sa.String(length=40), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=True),
    sa.Column('livemode', sa.Boolean(), nullable=True),
    sa.Column('ours_amount', sa.BigInteger(), nullable=True),
    sa.Column('theirs_amount', sa.BigInteger(), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('resolution', sa.String(length=40), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('resolved_by', sa.String(length=60), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['reconciliation_reports.id'], name=op.f('fk_reconciliation_breaks_report_id_reconciliation_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_breaks'))
    )
    with op.batch_alter_table('reconciliation_breaks', schema=None) as batch_op:
        batch_op.create_index('ix_reconciliation_breaks_report', ['report_id', 'id'], unique=False)

    op.create_table('payment_attempts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payment_id', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('operation', sa.String(length=12), nullable=False),
    sa.Column('result', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=True),
    sa.Column('channel_ref', sa.String(length=64), nullable=True),
    sa.Column('latency_us', sa.BigInteger(), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payment_instructions.id'], name=op.f('fk_payment_attempts_payment_id_payment_instructions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_attempts')),
    sa.UniqueConstraint('payment_id', 'seq', name='uq_payment_attempts_seq')
    )
    with op.batch_alter_table('payment_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_attempts_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    op.drop_table('payment_attempts')
    op.drop_table('reconciliation_breaks')
    op.drop_table('payment_instructions')
    op.drop_table('reconciliation_reports')
    op.drop_table('mandates')
    op.drop_table('custody_accounts')
