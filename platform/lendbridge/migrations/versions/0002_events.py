"""events outbox and test clocks

Revision ID: 0002_events
Revises: 0001_foundation
Create Date: 2026-11-25 12:06:00.126970
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002_events'
down_revision = '0001_foundation'
branch_labels = ('events',)
depends_on = None


def upgrade() -> None:
    
    op.create_table('events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=60), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('api_version', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.String(length=60), nullable=True),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('request_id', sa.String(length=40), nullable=True),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_object_id'), ['object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_tenant_id'), ['tenant_id'], unique=False)
        batch_op.create_index('ix_events_tenant_type_id', ['tenant_id', 'livemode', 'type', 'id'], unique=False)
        batch_op.create_index('ix_events_tenant_mode_id', ['tenant_id', 'livemode', 'id'], unique=False)
        batch_op.create_index('ix_events_undispatched', ['dispatched_at', 'id'], unique=False)

    op.create_table('test_clocks',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('frozen_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.String(length=40), nullable=False),
    sa.Column('livemode', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_test_clocks'))
    )
    with op.batch_alter_table('test_clocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_test_clocks_tenant_id'), ['tenant_id'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('test_clocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_test_clocks_tenant_id'))

    op.drop_table('test_clocks')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_undispatched')
        batch_op.drop_index('ix_events_tenant_type_id')
        batch_op.drop_index('ix_events_tenant_mode_id')
        batch_op.drop_index(batch_op.f('ix_events_tenant_id'))
        batch_op.drop_index(batch_op.f('ix_events_object_id'))

    op.drop_table('events')
    
