"""identity: borrowers (encrypted personal data, blind indexes), tenant and borrower keys,
consents, KYC checks, documents

Revision ID: 0003_identity
Revises: 0001_foundation
Create Date: 2026-11-25 12:19:10.915652
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_identity"
down_revision = "0001_foundation"
branch_labels = ("identity",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "borrowers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=12), nullable=False),
        sa.Column("kyc_status", sa.String(length=12), nullable=False),
        sa.Column("kyc_reasons", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("pii", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("id_number_bidx", sa.String(length=24), nullable=True),
        sa.Column("phone_bidx", sa.String(length=24), nullable=True),
        sa.Column("bank_card_bidx", sa.String(length=24), nullable=True),
        sa.Column("uscc_bidx", sa.String(length=24), nullable=True),
        sa.Column("test_clock_id", sa.String(length=40), nullable=True),
        sa.Column("metadata", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "kyc_status IN ('pending', 'verified', 'rejected', 'review')",
            name=op.f("ck_borrowers_kyc_status"),
        ),
        sa.CheckConstraint("type IN ('individual', 'business')", name=op.f("ck_borrowers_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borrowers")),
    )
    with op.batch_alter_table("borrowers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_borrowers_bank_card_bidx", ["tenant_id", "livemode", "bank_card_bidx"], unique=False
        )
        batch_op.create_index(
            "ix_borrowers_phone_bidx", ["tenant_id", "livemode", "phone_bidx"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_borrowers_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "uq_borrowers_id_number_bidx", ["tenant_id", "livemode", "id_number_bidx"], unique=True
        )
        batch_op.create_index("uq_borrowers_uscc_bidx", ["tenant_id", "livemode", "uscc_bidx"], unique=True)

    op.create_table(
        "tenant_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(status = 'retired') = (wrapped IS NULL)", name=op.f("ck_tenant_keys_material")),
        sa.CheckConstraint("kind IN ('data', 'index')", name=op.f("ck_tenant_keys_kind")),
        sa.CheckConstraint(
            "status IN ('active', 'decrypt_only', 'retired')", name=op.f("ck_tenant_keys_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenant_keys")),
    )
    with op.batch_alter_table("tenant_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenant_keys_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "uq_tenant_keys_active",
            ["tenant_id", "kind"],
            unique=True,
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "borrower_documents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("borrower_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_borrower_documents_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borrower_documents")),
    )
    with op.batch_alter_table("borrower_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_borrower_documents_borrower_id"), ["borrower_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_borrower_documents_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "borrower_keys",
        sa.Column("borrower_id", sa.String(length=40), nullable=False),
        sa.Column("kek_id", sa.String(length=64), nullable=False),
        sa.Column("dek_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_borrower_keys_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("borrower_id", name=op.f("pk_borrower_keys")),
    )
    with op.batch_alter_table("borrower_keys", schema=None) as batch_op:
        batch_op.create_index("ix_borrower_keys_kek", ["tenant_id", "kek_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_borrower_keys_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("borrower_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("version", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ip_token", sa.Text(), nullable=True),
        sa.Column("device_token", sa.Text(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_consents_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index("ix_consents_borrower_kind", ["borrower_id", "kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_consents_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "kyc_checks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("borrower_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reasons", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("provider", sa.String(length=60), nullable=True),
        sa.Column("provider_reference", sa.String(length=80), nullable=True),
        sa.Column("document_id", sa.String(length=40), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["borrower_id"], ["borrowers.id"], name=op.f("fk_kyc_checks_borrower_id_borrowers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyc_checks")),
    )
    with op.batch_alter_table("kyc_checks", schema=None) as batch_op:
        batch_op.create_index("ix_kyc_checks_borrower", ["borrower_id", "kind", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_kyc_checks_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kyc_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kyc_checks_tenant_id"))
        batch_op.drop_index("ix_kyc_checks_borrower")

    op.drop_table("kyc_checks")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_tenant_id"))
        batch_op.drop_index("ix_consents_borrower_kind")

    op.drop_table("consents")
    with op.batch_alter_table("borrower_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_borrower_keys_tenant_id"))
        batch_op.drop_index("ix_borrower_keys_kek")

    op.drop_table("borrower_keys")
    with op.batch_alter_table("borrower_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_borrower_documents_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_borrower_documents_borrower_id"))

    op.drop_table("borrower_documents")
    with op.batch_alter_table("tenant_keys", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_tenant_keys_active",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index(batch_op.f("ix_tenant_keys_tenant_id"))

    op.drop_table("tenant_keys")
    with op.batch_alter_table("borrowers", schema=None) as batch_op:
        batch_op.drop_index("uq_borrowers_uscc_bidx")
        batch_op.drop_index("uq_borrowers_id_number_bidx")
        batch_op.drop_index(batch_op.f("ix_borrowers_tenant_id"))
        batch_op.drop_index("ix_borrowers_phone_bidx")
        batch_op.drop_index("ix_borrowers_bank_card_bidx")

    op.drop_table("borrowers")
