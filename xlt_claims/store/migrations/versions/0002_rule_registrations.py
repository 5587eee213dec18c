"""rule registrations: the pre-registered decision rules of each experiment

Revision 0002 (schema version 2), after 0001: the table `ruleregistration` (experiment, version, digest
of the [decision] block with the judging code's version, the block itself, when it was registered).
Nothing existing changes; a store at 0001 gets an empty table and registers each experiment's rule
the next time the experiment is judged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ruleregistration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('experiment', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(), nullable=False),
    sa.Column('rules_version', sa.Integer(), nullable=False),
    sa.Column('decision', sa.JSON(), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('experiment', 'version')
    )
    with op.batch_alter_table('ruleregistration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ruleregistration_experiment'), ['experiment'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ruleregistration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ruleregistration_experiment'))

    op.drop_table('ruleregistration')
