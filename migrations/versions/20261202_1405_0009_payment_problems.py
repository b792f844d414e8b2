"""payment problems: gateway payments whose amount or currency differ from the attempt's

Revision ID: 0009
Revises: 0011
Create Date: 2026-12-02 14:05:00
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db


revision = '0009'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('payment_problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('intent_id', sa.String(length=64), nullable=False),
    sa.Column('expected_vnd', sa.Integer(), nullable=False),
    sa.Column('gateway_amount', sa.BigInteger(), nullable=False),
    sa.Column('gateway_currency', sa.String(length=10), nullable=False),
    sa.Column('gateway_status', sa.String(length=40), nullable=False),
    sa.Column('detected_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['payment_attempt.id'], name=op.f('fk_payment_problem_attempt_id_payment_attempt')),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_payment_problem_order_id_shop_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_problem')),
    sa.UniqueConstraint('intent_id', name=op.f('uq_payment_problem_intent_id'))
    )
    with op.batch_alter_table('payment_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_problem_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('payment_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_problem_order_id'))

    op.drop_table('payment_problem')
