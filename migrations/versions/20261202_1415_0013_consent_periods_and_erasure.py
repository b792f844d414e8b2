"""consent periods and the erasure log

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-02 14:15:00

Every existing consent row becomes one period (granted_at .. withdrawn_at), so reports
answer "consented on D" for the past as they will from now on.
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db


revision = '0013'
down_revision = '0009'
branch_labels = None
depends_on = None

PURPOSE = sa.Enum('publish_booth', 'show_phone', 'link_payment_account', name='consentpurpose',
                  native_enum=False, length=30)


def upgrade() -> None:
    op.create_table('consent_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('purpose', PURPOSE, nullable=False),
    sa.Column('started_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', ocopkit.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_consent_period_consent_id_consent')),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_consent_period_producer_id_producer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_period'))
    )
    with op.batch_alter_table('consent_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_period_consent_id'), ['consent_id'], unique=False)
        batch_op.create_index('ix_consent_period_producer_purpose', ['producer_id', 'purpose'], unique=False)
    op.execute("INSERT INTO consent_period (consent_id, producer_id, purpose, started_at, ended_at) "
               "SELECT id, producer_id, purpose, granted_at, withdrawn_at FROM consent")

    op.create_table('erasure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('erased_by_id', sa.Integer(), nullable=True),
    sa.Column('erased_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('photos_deleted', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['erased_by_id'], ['user.id'], name=op.f('fk_erasure_erased_by_id_user')),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_erasure_producer_id_producer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasure')),
    sa.UniqueConstraint('producer_id', name=op.f('uq_erasure_producer_id'))
    )


def downgrade() -> None:
    op.drop_table('erasure')
    with op.batch_alter_table('consent_period', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_period_producer_purpose')
        batch_op.drop_index(batch_op.f('ix_consent_period_consent_id'))
    op.drop_table('consent_period')
