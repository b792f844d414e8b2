"""linked payment accounts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 15:36:07.937017
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('linked_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('bank', 'ewallet', 'mobile_money', name='accountkind', native_enum=False, length=20), nullable=False),
    sa.Column('bank_bin', sa.String(length=6), nullable=True),
    sa.Column('provider', sa.String(length=60), nullable=False),
    sa.Column('account_number', sa.String(length=40), nullable=False),
    sa.Column('holder_name', sa.String(length=120), nullable=False),
    sa.Column('status', sa.Enum('pending', 'verified', 'disabled', name='accountstatus', native_enum=False, length=20), nullable=False),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_linked_account_producer_id_producer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_linked_account'))
    )
    with op.batch_alter_table('linked_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_linked_account_producer_id'), ['producer_id'], unique=False)

    op.create_table('account_verification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.Enum('test_transfer', 'statement', 'in_person', name='verificationmethod', native_enum=False, length=20), nullable=False),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', ocopkit.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['linked_account.id'], name=op.f('fk_account_verification_account_id_linked_account')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['user.id'], name=op.f('fk_account_verification_verified_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_verification'))
    )
    with op.batch_alter_table('account_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_verification_account_id'), ['account_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('account_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_verification_account_id'))

    op.drop_table('account_verification')
    with op.batch_alter_table('linked_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_linked_account_producer_id'))

    op.drop_table('linked_account')
