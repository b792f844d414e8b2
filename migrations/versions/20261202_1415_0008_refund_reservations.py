"""refund reservations

Revision ID: 0008
Revises: 0014
Create Date: 2026-12-02 14:15:00
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db


revision = '0008'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('refund_reservation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('payment_intent', sa.String(length=64), nullable=False),
    sa.Column('amount_vnd', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('reserved', 'completed', 'released', name='reservationstatus', native_enum=False, length=20), nullable=False),
    sa.Column('refund_id', sa.String(length=64), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('settled_at', ocopkit.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint('amount_vnd > 0', name=op.f('ck_refund_reservation_amount_positive')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entry.id'], name=op.f('fk_refund_reservation_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_refund_reservation_order_id_shop_order')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user.id'], name=op.f('fk_refund_reservation_requested_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_reservation')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_refund_reservation_idempotency_key')),
    sa.UniqueConstraint('refund_id', name=op.f('uq_refund_reservation_refund_id'))
    )
    with op.batch_alter_table('refund_reservation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refund_reservation_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('refund_reservation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refund_reservation_order_id'))
    op.drop_table('refund_reservation')
