"""ledger

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 15:38:36.630221
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('sale', 'refund', 'payout', name='entrykind', native_enum=False, length=20), nullable=False),
    sa.Column('channel', sa.Enum('card', 'vietqr', 'cash', 'external', name='channel', native_enum=False, length=20), nullable=False),
    sa.Column('platform', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('completed', 'refunded', 'cancelled', name='entrystatus', native_enum=False, length=20), nullable=False),
    sa.Column('amount_vnd', sa.Integer(), nullable=False),
    sa.Column('occurred_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('reference', sa.String(length=80), nullable=False),
    sa.Column('recorded_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('amount_vnd > 0', name=op.f('ck_ledger_entry_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_ledger_entry_order_id_shop_order')),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_ledger_entry_producer_id_producer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry')),
    sa.UniqueConstraint('platform', 'reference', name=op.f('uq_ledger_entry_platform'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entry_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_ledger_entry_producer_occurred', ['producer_id', 'occurred_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_producer_occurred')
        batch_op.drop_index(batch_op.f('ix_ledger_entry_order_id'))

    op.drop_table('ledger_entry')
