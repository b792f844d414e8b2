"""64-bit amounts, edit versions, stars only from the producer's certificate

Amounts that are summed become BIGINT (a 2,000,000,000 ₫ total overflowed PostgreSQL's
INTEGER); producer, booth and product get a `version` that a stale edit form fails on; the
product's own OCOP stars and certificate go (they are read from the producer's
certificate, which only staff set).

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-02 14:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0007'
branch_labels = None
depends_on = None

AMOUNTS = (("shop_order", "total_vnd"), ("order_line", "price_vnd"),
           ("ledger_entry", "amount_vnd"), ("payment_attempt", "amount_vnd"),
           ("bank_transfer", "amount_vnd"))


def _amounts(new_type, old_type) -> None:
    for table, column in AMOUNTS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=old_type, type_=new_type,
                                  existing_nullable=False)


VERSIONED = ("producer", "booth", "product")


def upgrade() -> None:
    _amounts(sa.BigInteger(), sa.Integer())
    for table in VERSIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1',
                                          nullable=False))
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_product_ocop_stars'), type_='check')
        batch_op.drop_column('ocop_expires_on')
        batch_op.drop_column('ocop_certificate_no')
        batch_op.drop_column('ocop_stars')


def downgrade() -> None:
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ocop_stars', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ocop_certificate_no', sa.String(length=60),
                                      nullable=True))
        batch_op.add_column(sa.Column('ocop_expires_on', sa.Date(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_product_ocop_stars'), 'ocop_stars IS NULL OR ocop_stars BETWEEN 3 AND 5')
    for table in VERSIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version')
    _amounts(sa.Integer(), sa.BigInteger())
