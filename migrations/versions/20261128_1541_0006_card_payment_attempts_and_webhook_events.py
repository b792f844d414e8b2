"""card payment attempts and webhook events

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 15:41:56.885347
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=80), nullable=False),
    sa.Column('type', sa.String(length=80), nullable=False),
    sa.Column('received_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_event')),
    sa.UniqueConstraint('event_id', name=op.f('uq_webhook_event_event_id'))
    )
    op.create_table('payment_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('intent_id', sa.String(length=64), nullable=True),
    sa.Column('amount_vnd', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('created', 'processing', 'succeeded', 'failed', 'canceled', name='attemptstatus', native_enum=False, length=20), nullable=False),
    sa.Column('error_code', sa.String(length=60), nullable=True),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_payment_attempt_order_id_shop_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_attempt')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_attempt_idempotency_key')),
    sa.UniqueConstraint('intent_id', name=op.f('uq_payment_attempt_intent_id'))
    )
    with op.batch_alter_table('payment_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_attempt_order_id'), ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payment_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_attempt_order_id'))

    op.drop_table('payment_attempt')
    op.drop_table('webhook_event')
