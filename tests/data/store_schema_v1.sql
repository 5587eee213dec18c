-- The claim store's schema as xlt-claims created it before Alembic (schemaversion 1, commit ffd80ab):
-- sqlite_master.sql of every table and index, in (type desc, name) order.
CREATE TABLE claim (
	id VARCHAR NOT NULL, 
	report_key VARCHAR NOT NULL, 
	report_id INTEGER NOT NULL, 
	"row" INTEGER NOT NULL, 
	line INTEGER NOT NULL, 
	text VARCHAR NOT NULL, 
	normalized VARCHAR NOT NULL, 
	report_mark BOOLEAN, 
	report_confidence FLOAT, 
	looks_truncated BOOLEAN NOT NULL, 
	repaired_text VARCHAR, 
	kind VARCHAR NOT NULL, 
	datasets JSON, 
	languages JSON, 
	metric VARCHAR, 
	value FLOAT, 
	comparator VARCHAR, 
	model VARCHAR, 
	method VARCHAR, 
	value_high FLOAT, 
	unit VARCHAR, 
	direction VARCHAR, 
	tasks JSON, 
	extraction JSON, 
	status VARCHAR NOT NULL, 
	confidence FLOAT, 
	text_verdict VARCHAR, 
	text_verdict_detail JSON, 
	retired BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(report_id) REFERENCES report (id)
);
CREATE TABLE claimevent (
	id INTEGER NOT NULL, 
	claim_id VARCHAR NOT NULL, 
	at DATETIME NOT NULL, 
	cause VARCHAR NOT NULL, 
	old_status VARCHAR, 
	new_status VARCHAR, 
	old_confidence FLOAT, 
	new_confidence FLOAT, 
	detail JSON, 
	PRIMARY KEY (id), 
	FOREIGN KEY(claim_id) REFERENCES claim (id)
);
CREATE TABLE claimsource (
	id INTEGER NOT NULL, 
	claim_id VARCHAR NOT NULL, 
	report_id INTEGER NOT NULL, 
	"row" INTEGER NOT NULL, 
	line INTEGER NOT NULL, 
	text VARCHAR NOT NULL, 
	report_mark BOOLEAN, 
	report_confidence FLOAT, 
	PRIMARY KEY (id), 
	UNIQUE (claim_id, report_id), 
	FOREIGN KEY(claim_id) REFERENCES claim (id), 
	FOREIGN KEY(report_id) REFERENCES report (id)
);
CREATE TABLE embeddingcache (
	model_id VARCHAR NOT NULL, 
	text_hash VARCHAR NOT NULL, 
	dim INTEGER NOT NULL, 
	vector BLOB, 
	PRIMARY KEY (model_id, text_hash)
);
CREATE TABLE evidence (
	id INTEGER NOT NULL, 
	claim_id VARCHAR NOT NULL, 
	arxiv_id VARCHAR NOT NULL, 
	paper_version INTEGER, 
	text_source VARCHAR NOT NULL, 
	section VARCHAR, 
	sentence_index INTEGER NOT NULL, 
	char_start INTEGER NOT NULL, 
	char_end INTEGER NOT NULL, 
	quote VARCHAR NOT NULL, 
	score FLOAT NOT NULL, 
	stance VARCHAR NOT NULL, 
	stance_detail JSON, 
	model_id VARCHAR NOT NULL, 
	computed_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(claim_id) REFERENCES claim (id), 
	FOREIGN KEY(arxiv_id) REFERENCES paper (arxiv_id)
);
CREATE TABLE experimentlink (
	id INTEGER NOT NULL, 
	claim_id VARCHAR NOT NULL, 
	experiment VARCHAR NOT NULL, 
	origin VARCHAR NOT NULL, 
	active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (claim_id, experiment), 
	FOREIGN KEY(claim_id) REFERENCES claim (id)
);
CREATE TABLE flag (
	id INTEGER NOT NULL, 
	report_key VARCHAR NOT NULL, 
	claim_id VARCHAR, 
	kind VARCHAR NOT NULL, 
	subject VARCHAR NOT NULL, 
	message VARCHAR NOT NULL, 
	detail JSON, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (report_key, claim_id, kind, subject), 
	FOREIGN KEY(claim_id) REFERENCES claim (id)
);
CREATE TABLE paper (
	arxiv_id VARCHAR NOT NULL, 
	version INTEGER, 
	title VARCHAR, 
	authors JSON, 
	abstract VARCHAR, 
	published DATETIME, 
	updated DATETIME, 
	categories JSON, 
	pdf_url VARCHAR, 
	full_text VARCHAR, 
	text_source VARCHAR NOT NULL, 
	source VARCHAR NOT NULL, 
	fetched_at DATETIME, 
	last_error VARCHAR, 
	versions JSON, 
	comment VARCHAR, 
	journal_ref VARCHAR, 
	doi VARCHAR, 
	primary_category VARCHAR, 
	pdf_status VARCHAR, 
	sections JSON, 
	PRIMARY KEY (arxiv_id)
);
CREATE TABLE reference (
	id INTEGER NOT NULL, 
	report_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	arxiv_id VARCHAR NOT NULL, 
	version INTEGER, 
	cited_as VARCHAR NOT NULL, 
	line INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(report_id) REFERENCES report (id)
);
CREATE TABLE report (
	id INTEGER NOT NULL, 
	"key" VARCHAR NOT NULL, 
	version INTEGER NOT NULL, 
	is_latest BOOLEAN NOT NULL, 
	file_name VARCHAR NOT NULL, 
	source_path VARCHAR NOT NULL, 
	content_hash VARCHAR NOT NULL, 
	title VARCHAR, 
	date VARCHAR, 
	research_question VARCHAR, 
	abstract VARCHAR, 
	stated_paper_count INTEGER, 
	stated_claims_count INTEGER, 
	stated_verified_count INTEGER, 
	quality_score FLOAT, 
	ingested_at DATETIME NOT NULL, 
	meta JSON, 
	PRIMARY KEY (id), 
	UNIQUE (content_hash), 
	UNIQUE ("key", version)
);
CREATE TABLE run (
	id INTEGER NOT NULL, 
	experiment VARCHAR NOT NULL, 
	arm VARCHAR NOT NULL, 
	seed INTEGER NOT NULL, 
	config_hash VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	config JSON, 
	manifest JSON, 
	metrics JSON, 
	device VARCHAR, 
	pid INTEGER, 
	host VARCHAR, 
	error VARCHAR, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	wall_s FLOAT, 
	heartbeat_at DATETIME, 
	reused_from INTEGER, 
	valid BOOLEAN, 
	invalid_reason VARCHAR, 
	PRIMARY KEY (id)
);
CREATE TABLE schemaversion (
	version INTEGER NOT NULL, 
	applied_at DATETIME NOT NULL, 
	description VARCHAR NOT NULL, 
	PRIMARY KEY (version)
);
CREATE TABLE verdict (
	id INTEGER NOT NULL, 
	claim_id VARCHAR NOT NULL, 
	experiment VARCHAR NOT NULL, 
	outcome VARCHAR NOT NULL, 
	proxy BOOLEAN NOT NULL, 
	metric VARCHAR, 
	effect FLOAT, 
	ci_low FLOAT, 
	ci_high FLOAT, 
	n_seeds INTEGER NOT NULL, 
	run_ids JSON, 
	detail JSON, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(claim_id) REFERENCES claim (id)
);
CREATE INDEX ix_claim_report_id ON claim (report_id);
CREATE INDEX ix_claim_report_key ON claim (report_key);
CREATE INDEX ix_claim_status ON claim (status);
CREATE INDEX ix_claimevent_claim_id ON claimevent (claim_id);
CREATE INDEX ix_claimsource_claim_id ON claimsource (claim_id);
CREATE INDEX ix_claimsource_report_id ON claimsource (report_id);
CREATE INDEX ix_evidence_arxiv_id ON evidence (arxiv_id);
CREATE INDEX ix_evidence_claim_id ON evidence (claim_id);
CREATE INDEX ix_experimentlink_claim_id ON experimentlink (claim_id);
CREATE INDEX ix_experimentlink_experiment ON experimentlink (experiment);
CREATE INDEX ix_flag_claim_id ON flag (claim_id);
CREATE INDEX ix_flag_report_key ON flag (report_key);
CREATE INDEX ix_reference_arxiv_id ON reference (arxiv_id);
CREATE INDEX ix_reference_report_id ON reference (report_id);
CREATE INDEX ix_report_key ON report ("key");
CREATE INDEX ix_run_config_hash ON run (config_hash);
CREATE INDEX ix_run_experiment ON run (experiment);
CREATE INDEX ix_run_status ON run (status);
CREATE INDEX ix_verdict_claim_id ON verdict (claim_id);
