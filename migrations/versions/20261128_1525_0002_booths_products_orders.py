"""booths products orders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 15:25:22.625193
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('booth',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('story', sa.Text(), nullable=False),
    sa.Column('story_own_language', sa.Text(), nullable=False),
    sa.Column('cover_image', sa.String(length=80), nullable=True),
    sa.Column('status', sa.Enum('draft', 'published', 'suspended', name='boothstatus', native_enum=False, length=20), nullable=False),
    sa.Column('published_at', ocopkit.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_booth_producer_id_producer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booth')),
    sa.UniqueConstraint('producer_id', name=op.f('uq_booth_producer_id'))
    )
    op.create_table('product',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booth_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.Enum('tea', 'rice', 'coffee', 'honey', 'spices', 'herbs', 'fruit', 'meat', 'drinks', 'crafts', 'other', name='category', native_enum=False, length=20), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('price_vnd', sa.Integer(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'hidden', name='productstatus', native_enum=False, length=20), nullable=False),
    sa.Column('ocop_stars', sa.Integer(), nullable=True),
    sa.Column('ocop_certificate_no', sa.String(length=60), nullable=True),
    sa.Column('ocop_expires_on', sa.Date(), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('ocop_stars IS NULL OR ocop_stars BETWEEN 3 AND 5', name=op.f('ck_product_ocop_stars')),
    sa.CheckConstraint('price_vnd >= 0', name=op.f('ck_product_price_not_negative')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_product_stock_not_negative')),
    sa.ForeignKeyConstraint(['booth_id'], ['booth.id'], name=op.f('fk_product_booth_id_booth')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product'))
    )
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_booth_id'), ['booth_id'], unique=False)

    op.create_table('shop_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('booth_id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('buyer_name', sa.String(length=120), nullable=False),
    sa.Column('buyer_phone', sa.String(length=15), nullable=False),
    sa.Column('delivery_address', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('placed', 'confirmed', 'shipped', 'delivered', 'cancelled', name='orderstatus', native_enum=False, length=20), nullable=False),
    sa.Column('payment_method', sa.Enum('card', 'vietqr', 'cash', name='paymentmethod', native_enum=False, length=20), nullable=False),
    sa.Column('total_vnd', sa.Integer(), nullable=False),
    sa.Column('placed_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('total_vnd >= 0', name=op.f('ck_shop_order_total_not_negative')),
    sa.ForeignKeyConstraint(['booth_id'], ['booth.id'], name=op.f('fk_shop_order_booth_id_booth')),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_shop_order_producer_id_producer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shop_order')),
    sa.UniqueConstraint('reference', name=op.f('uq_shop_order_reference'))
    )
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shop_order_booth_id'), ['booth_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_placed_at'), ['placed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shop_order_producer_id'), ['producer_id'], unique=False)

    op.create_table('order_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('price_vnd', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_line_quantity_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_order_line_order_id_shop_order')),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_order_line_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_line'))
    )
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_line_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_line_product_id'), ['product_id'], unique=False)

    op.create_table('product_image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_image_product_id_product')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_image')),
    sa.UniqueConstraint('key', name=op.f('uq_product_image_key')),
    sa.UniqueConstraint('product_id', 'position', name=op.f('uq_product_image_product_id'))
    )
    with op.batch_alter_table('product_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_image_product_id'), ['product_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('product_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_image_product_id'))

    op.drop_table('product_image')
    with op.batch_alter_table('order_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_line_product_id'))
        batch_op.drop_index(batch_op.f('ix_order_line_order_id'))

    op.drop_table('order_line')
    with op.batch_alter_table('shop_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shop_order_producer_id'))
        batch_op.drop_index(batch_op.f('ix_shop_order_placed_at'))
        batch_op.drop_index(batch_op.f('ix_shop_order_booth_id'))

    op.drop_table('shop_order')
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_booth_id'))

    op.drop_table('product')
    op.drop_table('booth')
