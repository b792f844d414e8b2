"""bank transfers and payout accounts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 23:47:47.686900
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bank_transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('amount_vnd', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=25), nullable=False),
    sa.Column('status', sa.Enum('expected', 'claimed', 'confirmed', 'cancelled', name='transferstatus', native_enum=False, length=20), nullable=False),
    sa.Column('claimed_at', ocopkit.db.UTCDateTime(), nullable=True),
    sa.Column('confirmed_at', ocopkit.db.UTCDateTime(), nullable=True),
    sa.Column('confirmed_how', sa.Enum('producer', 'officer', 'statement', name='confirmedhow', native_enum=False, length=20), nullable=True),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['linked_account.id'], name=op.f('fk_bank_transfer_account_id_linked_account')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['user.id'], name=op.f('fk_bank_transfer_confirmed_by_id_user')),
    sa.ForeignKeyConstraint(['order_id'], ['shop_order.id'], name=op.f('fk_bank_transfer_order_id_shop_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_transfer')),
    sa.UniqueConstraint('order_id', name=op.f('uq_bank_transfer_order_id'))
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recorded_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_ledger_entry_recorded_by_id_user'), 'user', ['recorded_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_ledger_entry_account_id_linked_account'), 'linked_account', ['account_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_ledger_entry_account_id_linked_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_ledger_entry_recorded_by_id_user'), type_='foreignkey')
        batch_op.drop_column('recorded_by_id')
        batch_op.drop_column('account_id')

    op.drop_table('bank_transfer')
