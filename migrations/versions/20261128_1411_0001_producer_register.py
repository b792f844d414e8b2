"""producer register, reference data (the 54 ethnic groups), users and consent

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 14:11:06.118475
"""
from alembic import op
import sqlalchemy as sa

import ocopkit.db
from onboarding.reference import ETHNIC_GROUPS


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commune',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('is_ethnic_minority_area', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commune')),
    sa.UniqueConstraint('code', name=op.f('uq_commune_code'))
    )
    ethnic_group = op.create_table('ethnic_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=2), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ethnic_group')),
    sa.UniqueConstraint('code', name=op.f('uq_ethnic_group_code')),
    sa.UniqueConstraint('name', name=op.f('uq_ethnic_group_name'))
    )
    op.bulk_insert(ethnic_group, [{"id": int(code), "code": code, "name": name}
                                  for code, name, _ in ETHNIC_GROUPS])
    op.create_table('login_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure'))
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failure_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failure_key'), ['key'], unique=False)

    op.create_table('producer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('household', 'cooperative', 'enterprise', name='producerkind', native_enum=False, length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_own_language', sa.String(length=200), nullable=True),
    sa.Column('representative', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=15), nullable=True),
    sa.Column('ethnic_group_id', sa.Integer(), nullable=True),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('village', sa.String(length=120), nullable=False),
    sa.Column('ocop_stars', sa.Integer(), nullable=True),
    sa.Column('ocop_certificate_no', sa.String(length=60), nullable=True),
    sa.Column('ocop_certified_on', sa.Date(), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('ocop_stars IS NULL OR ocop_stars BETWEEN 3 AND 5', name=op.f('ck_producer_ocop_stars')),
    sa.ForeignKeyConstraint(['commune_id'], ['commune.id'], name=op.f('fk_producer_commune_id_commune')),
    sa.ForeignKeyConstraint(['ethnic_group_id'], ['ethnic_group.id'], name=op.f('fk_producer_ethnic_group_id_ethnic_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_producer')),
    sa.UniqueConstraint('code', name=op.f('uq_producer_code')),
    sa.UniqueConstraint('phone', name=op.f('uq_producer_phone'))
    )
    with op.batch_alter_table('producer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_producer_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_producer_ethnic_group_id'), ['ethnic_group_id'], unique=False)

    op.create_table('user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('admin', 'officer', 'producer', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('created_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_user_producer_id_producer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user')),
    sa.UniqueConstraint('producer_id', name=op.f('uq_user_producer_id')),
    sa.UniqueConstraint('username', name=op.f('uq_user_username'))
    )
    op.create_table('change_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_change_record_actor_id_user')),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_change_record_producer_id_producer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_record'))
    )
    with op.batch_alter_table('change_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_record_producer_id'), ['producer_id'], unique=False)

    op.create_table('consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('publish_booth', 'show_phone', 'link_payment_account', name='consentpurpose', native_enum=False, length=30), nullable=False),
    sa.Column('witness_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', ocopkit.db.UTCDateTime(), nullable=False),
    sa.Column('withdrawn_at', ocopkit.db.UTCDateTime(), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_consent_producer_id_producer')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['user.id'], name=op.f('fk_consent_withdrawn_by_id_user')),
    sa.ForeignKeyConstraint(['witness_id'], ['user.id'], name=op.f('fk_consent_witness_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_producer_id'), ['producer_id'], unique=False)

    op.create_table('training',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('producer_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('topic', sa.String(length=200), nullable=False),
    sa.Column('trainer', sa.String(length=120), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['producer_id'], ['producer.id'], name=op.f('fk_training_producer_id_producer')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_training_recorded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training'))
    )
    with op.batch_alter_table('training', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_producer_id'), ['producer_id'], unique=False)

    op.create_table('user_commune',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['commune.id'], name=op.f('fk_user_commune_commune_id_commune'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_user_commune_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'commune_id', name=op.f('pk_user_commune'))
    )


def downgrade() -> None:
    op.drop_table('user_commune')
    with op.batch_alter_table('training', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_producer_id'))

    op.drop_table('training')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_producer_id'))

    op.drop_table('consent')
    with op.batch_alter_table('change_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_record_producer_id'))

    op.drop_table('change_record')
    op.drop_table('user')
    with op.batch_alter_table('producer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_producer_ethnic_group_id'))
        batch_op.drop_index(batch_op.f('ix_producer_commune_id'))

    op.drop_table('producer')
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failure_key'))
        batch_op.drop_index(batch_op.f('ix_login_failure_at'))

    op.drop_table('login_failure')
    op.drop_table('ethnic_group')
    op.drop_table('commune')
