"""transfer destination snapshot, second-person verification

A VietQR transfer keeps the bank, number and holder it showed the buyer (filled for existing
rows from their account); an account remembers who typed a number replacing a verified one;
a verification keeps the reference of the test transfer it relied on.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 14:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None

SNAPSHOT = (('bank_bin', 6), ('account_number', 40), ('holder_name', 120))


def upgrade() -> None:
    with op.batch_alter_table('bank_transfer', schema=None) as batch_op:
        for name, length in SNAPSHOT:
            batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))
    for name, _ in SNAPSHOT:
        op.execute(f"UPDATE bank_transfer SET {name} = (SELECT linked_account.{name} "
                   "FROM linked_account WHERE linked_account.id = bank_transfer.account_id)")
    with op.batch_alter_table('bank_transfer', schema=None) as batch_op:
        for name, length in SNAPSHOT:
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=False)

    # Plain ADD COLUMN (a user id, no foreign key): SQLite need not rebuild linked_account,
    # which transfers and ledger entries point at.
    op.add_column('linked_account', sa.Column('number_changed_by_id', sa.Integer(),
                                              nullable=True))
    with op.batch_alter_table('account_verification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('account_verification', schema=None) as batch_op:
        batch_op.drop_column('reference')
    op.drop_column('linked_account', 'number_changed_by_id')
    with op.batch_alter_table('bank_transfer', schema=None) as batch_op:
        for name, _ in reversed(SNAPSHOT):
            batch_op.drop_column(name)
