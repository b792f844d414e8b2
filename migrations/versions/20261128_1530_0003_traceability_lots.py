"""traceability lots

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:30:38.910244
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('lot_code', sa.String(length=20), nullable=False),
    sa.Column('trace_code', sa.String(length=12), nullable=False),
    sa.Column('produced_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('withdrawn_at', ocopkit.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawal_reason', sa.Text(), nullable=False),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('quantity IS NULL OR quantity >= 0', name=op.f('ck_lot_quantity_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_lot_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot')),
    sa.UniqueConstraint('product_id', 'lot_code', name=op.f('uq_lot_product_id')),
    sa.UniqueConstraint('trace_code', name=op.f('uq_lot_trace_code'))
    )
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_product_id'), ['product_id'], unique=False)

    op.create_table('lot_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('harvested', 'processed', 'packed', 'shipped', 'received', 'sold', name='loteventkind', native_enum=False, length=20), nullable=False),
    sa.Column('occurred_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_lot_event_lot_id_lot')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_lot_event_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_event'))
    )
    with op.batch_alter_table('lot_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_event_lot_id'), ['lot_id'], unique=False)

    op.create_table('lot_scan_day',
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('scans', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lot.id'], name=op.f('fk_lot_scan_day_lot_id_lot')),
    sa.PrimaryKeyConstraint('lot_id', 'day', name=op.f('pk_lot_scan_day'))
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gtin', sa.String(length=14), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_product_gtin'), ['gtin'])



def downgrade() -> None:
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_product_gtin'), type_='unique')
        batch_op.drop_column('gtin')

    op.drop_table('lot_scan_day')
    with op.batch_alter_table('lot_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_event_lot_id'))

    op.drop_table('lot_event')
    with op.batch_alter_table('lot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_product_id'))

    op.drop_table('lot')
