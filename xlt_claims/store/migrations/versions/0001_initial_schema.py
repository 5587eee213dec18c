"""initial schema: reports, references, claims, events, flags, papers, evidence, runs, verdicts

Revision 0001 (schema version 1): the schema exactly as xlt-claims created it before Alembic (with
SQLModel's create_all); stores of that time are stamped at this revision. Written with portable
types only (String, Integer, Float, Boolean, DateTime(timezone=True), JSON, LargeBinary).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('embeddingcache',
    sa.Column('model_id', sa.String(), nullable=False),
    sa.Column('text_hash', sa.String(), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('vector', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('model_id', 'text_hash')
    )
    op.create_table('paper',
    sa.Column('arxiv_id', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(), nullable=True),
    sa.Column('authors', sa.JSON(), nullable=True),
    sa.Column('abstract', sa.String(), nullable=True),
    sa.Column('published', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated', sa.DateTime(timezone=True), nullable=True),
    sa.Column('categories', sa.JSON(), nullable=True),
    sa.Column('pdf_url', sa.String(), nullable=True),
    sa.Column('full_text', sa.String(), nullable=True),
    sa.Column('text_source', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(), nullable=True),
    sa.Column('versions', sa.JSON(), nullable=True),
    sa.Column('comment', sa.String(), nullable=True),
    sa.Column('journal_ref', sa.String(), nullable=True),
    sa.Column('doi', sa.String(), nullable=True),
    sa.Column('primary_category', sa.String(), nullable=True),
    sa.Column('pdf_status', sa.String(), nullable=True),
    sa.Column('sections', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('arxiv_id')
    )
    op.create_table('report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_latest', sa.Boolean(), nullable=False),
    sa.Column('file_name', sa.String(), nullable=False),
    sa.Column('source_path', sa.String(), nullable=False),
    sa.Column('content_hash', sa.String(), nullable=False),
    sa.Column('title', sa.String(), nullable=True),
    sa.Column('date', sa.String(), nullable=True),
    sa.Column('research_question', sa.String(), nullable=True),
    sa.Column('abstract', sa.String(), nullable=True),
    sa.Column('stated_paper_count', sa.Integer(), nullable=True),
    sa.Column('stated_claims_count', sa.Integer(), nullable=True),
    sa.Column('stated_verified_count', sa.Integer(), nullable=True),
    sa.Column('quality_score', sa.Float(), nullable=True),
    sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('content_hash'),
    sa.UniqueConstraint('key', 'version')
    )
    op.create_index('ix_report_key', 'report', ['key'], unique=False)

    op.create_table('run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('experiment', sa.String(), nullable=False),
    sa.Column('arm', sa.String(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('config_hash', sa.String(), nullable=False),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=True),
    sa.Column('manifest', sa.JSON(), nullable=True),
    sa.Column('metrics', sa.JSON(), nullable=True),
    sa.Column('device', sa.String(), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('host', sa.String(), nullable=True),
    sa.Column('error', sa.String(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('wall_s', sa.Float(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reused_from', sa.Integer(), nullable=True),
    sa.Column('valid', sa.Boolean(), nullable=True),
    sa.Column('invalid_reason', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_run_config_hash', 'run', ['config_hash'], unique=False)
    op.create_index('ix_run_experiment', 'run', ['experiment'], unique=False)
    op.create_index('ix_run_status', 'run', ['status'], unique=False)

    op.create_table('schemaversion',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('description', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('claim',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('report_key', sa.String(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('normalized', sa.String(), nullable=False),
    sa.Column('report_mark', sa.Boolean(), nullable=True),
    sa.Column('report_confidence', sa.Float(), nullable=True),
    sa.Column('looks_truncated', sa.Boolean(), nullable=False),
    sa.Column('repaired_text', sa.String(), nullable=True),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('datasets', sa.JSON(), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=True),
    sa.Column('metric', sa.String(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('comparator', sa.String(), nullable=True),
    sa.Column('model', sa.String(), nullable=True),
    sa.Column('method', sa.String(), nullable=True),
    sa.Column('value_high', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(), nullable=True),
    sa.Column('direction', sa.String(), nullable=True),
    sa.Column('tasks', sa.JSON(), nullable=True),
    sa.Column('extraction', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('text_verdict', sa.String(), nullable=True),
    sa.Column('text_verdict_detail', sa.JSON(), nullable=True),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_claim_report_id', 'claim', ['report_id'], unique=False)
    op.create_index('ix_claim_report_key', 'claim', ['report_key'], unique=False)
    op.create_index('ix_claim_status', 'claim', ['status'], unique=False)

    op.create_table('reference',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('arxiv_id', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('cited_as', sa.String(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_reference_arxiv_id', 'reference', ['arxiv_id'], unique=False)
    op.create_index('ix_reference_report_id', 'reference', ['report_id'], unique=False)

    op.create_table('claimevent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.String(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cause', sa.String(), nullable=False),
    sa.Column('old_status', sa.String(), nullable=True),
    sa.Column('new_status', sa.String(), nullable=True),
    sa.Column('old_confidence', sa.Float(), nullable=True),
    sa.Column('new_confidence', sa.Float(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_claimevent_claim_id', 'claimevent', ['claim_id'], unique=False)

    op.create_table('claimsource',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.String(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('report_mark', sa.Boolean(), nullable=True),
    sa.Column('report_confidence', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('claim_id', 'report_id'),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], ),
    sa.ForeignKeyConstraint(['report_id'], ['report.id'], )
    )
    op.create_index('ix_claimsource_claim_id', 'claimsource', ['claim_id'], unique=False)
    op.create_index('ix_claimsource_report_id', 'claimsource', ['report_id'], unique=False)

    op.create_table('evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.String(), nullable=False),
    sa.Column('arxiv_id', sa.String(), nullable=False),
    sa.Column('paper_version', sa.Integer(), nullable=True),
    sa.Column('text_source', sa.String(), nullable=False),
    sa.Column('section', sa.String(), nullable=True),
    sa.Column('sentence_index', sa.Integer(), nullable=False),
    sa.Column('char_start', sa.Integer(), nullable=False),
    sa.Column('char_end', sa.Integer(), nullable=False),
    sa.Column('quote', sa.String(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('stance', sa.String(), nullable=False),
    sa.Column('stance_detail', sa.JSON(), nullable=True),
    sa.Column('model_id', sa.String(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], ),
    sa.ForeignKeyConstraint(['arxiv_id'], ['paper.arxiv_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_evidence_arxiv_id', 'evidence', ['arxiv_id'], unique=False)
    op.create_index('ix_evidence_claim_id', 'evidence', ['claim_id'], unique=False)

    op.create_table('experimentlink',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.String(), nullable=False),
    sa.Column('experiment', sa.String(), nullable=False),
    sa.Column('origin', sa.String(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('claim_id', 'experiment'),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], )
    )
    op.create_index('ix_experimentlink_claim_id', 'experimentlink', ['claim_id'], unique=False)
    op.create_index('ix_experimentlink_experiment', 'experimentlink', ['experiment'], unique=False)

    op.create_table('flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_key', sa.String(), nullable=False),
    sa.Column('claim_id', sa.String(), nullable=True),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('subject', sa.String(), nullable=False),
    sa.Column('message', sa.String(), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('report_key', 'claim_id', 'kind', 'subject'),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], )
    )
    op.create_index('ix_flag_claim_id', 'flag', ['claim_id'], unique=False)
    op.create_index('ix_flag_report_key', 'flag', ['report_key'], unique=False)

    op.create_table('verdict',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.String(), nullable=False),
    sa.Column('experiment', sa.String(), nullable=False),
    sa.Column('outcome', sa.String(), nullable=False),
    sa.Column('proxy', sa.Boolean(), nullable=False),
    sa.Column('metric', sa.String(), nullable=True),
    sa.Column('effect', sa.Float(), nullable=True),
    sa.Column('ci_low', sa.Float(), nullable=True),
    sa.Column('ci_high', sa.Float(), nullable=True),
    sa.Column('n_seeds', sa.Integer(), nullable=False),
    sa.Column('run_ids', sa.JSON(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claim.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_verdict_claim_id', 'verdict', ['claim_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_verdict_claim_id', table_name='verdict')

    op.drop_table('verdict')
    op.drop_index('ix_flag_report_key', table_name='flag')
    op.drop_index('ix_flag_claim_id', table_name='flag')

    op.drop_table('flag')
    op.drop_index('ix_experimentlink_experiment', table_name='experimentlink')
    op.drop_index('ix_experimentlink_claim_id', table_name='experimentlink')

    op.drop_table('experimentlink')
    op.drop_index('ix_evidence_claim_id', table_name='evidence')
    op.drop_index('ix_evidence_arxiv_id', table_name='evidence')

    op.drop_table('evidence')
    op.drop_index('ix_claimsource_report_id', table_name='claimsource')
    op.drop_index('ix_claimsource_claim_id', table_name='claimsource')

    op.drop_table('claimsource')
    op.drop_index('ix_claimevent_claim_id', table_name='claimevent')

    op.drop_table('claimevent')
    op.drop_index('ix_reference_report_id', table_name='reference')
    op.drop_index('ix_reference_arxiv_id', table_name='reference')

    op.drop_table('reference')
    op.drop_index('ix_claim_status', table_name='claim')
    op.drop_index('ix_claim_report_key', table_name='claim')
    op.drop_index('ix_claim_report_id', table_name='claim')

    op.drop_table('claim')
    op.drop_table('schemaversion')
    op.drop_index('ix_run_status', table_name='run')
    op.drop_index('ix_run_experiment', table_name='run')
    op.drop_index('ix_run_config_hash', table_name='run')

    op.drop_table('run')
    op.drop_index('ix_report_key', table_name='report')

    op.drop_table('report')
    op.drop_table('paper')
    op.drop_table('embeddingcache')
