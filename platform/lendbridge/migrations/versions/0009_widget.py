"""widget sessions

Revision ID: 0009_widget
Revises: 0001_foundation
Create Date: 2026-11-25 12:24:00.316191
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_widget"
down_revision = "0001_foundation"
branch_labels = ("widget",)
depends_on = None


def upgrade() -> None:
    op.create_table('widget_sessions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('scenario', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('hint_sealed', sa.Text(), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('return_url', sa.String(length=2000), nullable=True),
    sa.Column('client_reference_id', sa.String(length=200), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('borrower_id', sa.String(length=40), nullable=True),
    sa.Column('application_id', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('loan_id', sa.String(length=40), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('otp_phone_digest', sa.String(length=64), nullable=True),
    sa.Column('otp_code_digest', sa.String(length=64), nullable=True),
    sa.Column('otp_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('otp_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('otp_sends', sa.Integer(), nullable=False),
    sa.Column('otp_attempts', sa.Integer(), nullable=False),
    sa.Column('phone_verified_digest', sa.String(length=64), nullable=True),
    sa.Column('phone_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.CheckConstraint("mode IN ('apply', 'repay')", name=op.f('ck_widget_sessions_mode')),
    sa.CheckConstraint("status IN ('open', 'completed', 'expired')", name=op.f('ck_widget_sessions_status')),
    sa.CheckConstraint('amount IS NULL OR amount > 0', name=op.f('ck_widget_sessions_amount_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_widget_sessions')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_widget_sessions_secret_hash'))
    )
    with op.batch_alter_table('widget_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_widget_sessions_application_id'), ['application_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_widget_sessions_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_widget_sessions_tenant_id'), ['tenant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("widget_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_widget_sessions_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_widget_sessions_loan_id"))
        batch_op.drop_index(batch_op.f("ix_widget_sessions_application_id"))

    op.drop_table("widget_sessions")
