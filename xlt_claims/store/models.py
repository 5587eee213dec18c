"""The claim store's tables (SQLModel).

Everything in xlt-claims hangs off these rows: a Report (one version of one literature report file),
its References and Claims, an append-only ClaimEvent log, Papers fetched from arXiv with their
Evidence sentences, report/claim Flags, experiment Runs and the Verdicts computed from them.

JSON columns hold structured detail that we want to keep verbatim (run manifests, metrics, verdict
inputs); columns that readers filter on are real columns.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from .status import EXPERIMENT_STATUSES, STATUSES, TEXT_STATUSES, UNVERIFIED, Status  # noqa: F401 (re-exported)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# Claim status vocabulary (defined once in store/status.py). Textual verdicts come from evidence,
# experimental ones from runs.
CLAIM_KINDS = ("quantitative", "qualitative", "descriptive")


class SchemaVersion(SQLModel, table=True):
    """One row per applied migration; the highest version is the schema's version."""

    version: int = Field(primary_key=True)
    applied_at: datetime = Field(default_factory=utcnow)
    description: str = ""


class Report(SQLModel, table=True):
    """One version of one literature report file. `key` names the report across versions."""

    __table_args__ = (UniqueConstraint("content_hash"), UniqueConstraint("key", "version"))

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(index=True)  # file stem, e.g. "000_29b9937d0813450b"
    version: int = 1
    is_latest: bool = True
    file_name: str
    source_path: str
    content_hash: str  # sha256 of the file bytes
    title: Optional[str] = None
    date: Optional[str] = None
    research_question: Optional[str] = None
    abstract: Optional[str] = None
    stated_paper_count: Optional[int] = None
    stated_claims_count: Optional[int] = None
    stated_verified_count: Optional[int] = None
    quality_score: Optional[float] = None
    ingested_at: datetime = Field(default_factory=utcnow)
    # everything else the parser found: byline, "This paper examines", stated-count variants,
    # quality scale, abstract truncation, non-arXiv references, parse warnings, table format
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class Reference(SQLModel, table=True):
    """An arXiv reference as cited by one report version."""

    id: Optional[int] = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    position: int  # 1-based order in the report's reference list
    arxiv_id: str = Field(index=True)  # without version, e.g. "2104.08645"
    version: Optional[int] = None  # the cited version, e.g. 2 for "v2"
    cited_as: str  # the line verbatim
    line: int  # line number in the report file


class Claim(SQLModel, table=True):
    """A claim of a report, stable across versions of that report (`id` is short and stable)."""

    id: str = Field(primary_key=True)  # short stable id, e.g. "c3f9a1"
    report_key: str = Field(index=True)
    report_id: int = Field(foreign_key="report.id", index=True)  # latest version containing it
    row: int  # 1-based row in the claims table
    line: int  # line number in the report file
    text: str  # verbatim
    normalized: str
    report_mark: Optional[bool] = None  # the report's own ✓ (True) / × (False)
    report_confidence: Optional[float] = None
    looks_truncated: bool = False
    repaired_text: Optional[str] = None  # full claim restored from a source sentence
    kind: str = "descriptive"
    # structured fields parsed from the text
    datasets: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    languages: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    metric: Optional[str] = None
    value: Optional[float] = None
    comparator: Optional[str] = None  # e.g. "improve", "outperform", "decrease", "range"
    model: Optional[str] = None
    method: Optional[str] = None
    value_high: Optional[float] = None  # upper end when the claim states a range ("1 to 3 points")
    unit: Optional[str] = None  # "points" | "percentage points" | "%" | "x" ...
    direction: Optional[str] = None  # "improve" | "outperform" | "decrease" | "underperform" | "match" | "no-effect"
    tasks: list[str] = Field(default_factory=list, sa_column=Column(JSON))  # "NLI", "NER", "POS", "QA", ...
    extraction: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))  # spans, all quantities, truncation signals
    # current state (the event log is the history)
    status: str = Field(default=UNVERIFIED, index=True)
    confidence: Optional[float] = None
    text_verdict: Optional[str] = None
    text_verdict_detail: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))
    retired: bool = False  # not present in the latest version of its report
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ClaimSource(SQLModel, table=True):
    """Provenance: where a claim appeared, per report version, verbatim."""

    __table_args__ = (UniqueConstraint("claim_id", "report_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", index=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    row: int
    line: int
    text: str
    report_mark: Optional[bool] = None
    report_confidence: Optional[float] = None


class ClaimEvent(SQLModel, table=True):
    """Append-only log of status / confidence changes. Never updated, never deleted."""

    id: Optional[int] = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    cause: str  # "ingest" | "evidence" | "experiment" | "manual" | ...
    old_status: Optional[str] = None
    new_status: Optional[str] = None
    old_confidence: Optional[float] = None
    new_confidence: Optional[float] = None
    detail: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))


class Flag(SQLModel, table=True):
    """Something a report or claim asserts that the sources do not back (or a data problem)."""

    __table_args__ = (UniqueConstraint("report_key", "claim_id", "kind", "subject"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    report_key: str = Field(index=True)
    claim_id: Optional[str] = Field(default=None, foreign_key="claim.id", index=True)
    kind: str  # "invented-entity" | "off-topic-citation" | "truncated" | "unreachable-reference" | ...
    subject: str  # the entity name, arXiv id, ...
    message: str
    detail: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class Paper(SQLModel, table=True):
    """An arXiv paper as fetched (metadata + abstract, and full text when a PDF could be read)."""

    arxiv_id: str = Field(primary_key=True)  # without version
    version: Optional[int] = None  # latest version known
    title: Optional[str] = None
    authors: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    abstract: Optional[str] = None
    published: Optional[datetime] = None
    updated: Optional[datetime] = None
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    pdf_url: Optional[str] = None
    full_text: Optional[str] = None
    text_source: str = "abstract"  # "abstract" | "full-text": what evidence was checked against
    source: str = "arxiv-api"  # "arxiv-api" | "import:<file>"
    fetched_at: Optional[datetime] = None
    last_error: Optional[str] = None
    # added by papers (issue 3)
    versions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))  # [{"version", "date"}]
    comment: Optional[str] = None
    journal_ref: Optional[str] = None
    doi: Optional[str] = None
    primary_category: Optional[str] = None
    pdf_status: Optional[str] = None  # "ok: N pages" | "unavailable: ..." | "skipped"
    sections: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))  # full text: name/start/end


class Evidence(SQLModel, table=True):
    """A sentence of a cited paper matched to a claim. Offsets index `paper_text(paper)`."""

    id: Optional[int] = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", index=True)
    arxiv_id: str = Field(foreign_key="paper.arxiv_id", index=True)
    paper_version: Optional[int] = None
    text_source: str = "abstract"
    section: Optional[str] = None
    sentence_index: int
    char_start: int
    char_end: int
    quote: str
    score: float  # similarity
    stance: str = "neutral"  # "support" | "contradict" | "neutral"
    stance_detail: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))
    model_id: str
    computed_at: datetime = Field(default_factory=utcnow)


class EmbeddingCache(SQLModel, table=True):
    """Embeddings keyed by (model id, sha256 of text) so evidence runs are incremental."""

    model_id: str = Field(primary_key=True)
    text_hash: str = Field(primary_key=True)
    dim: int
    vector: bytes = Field(sa_column=Column(LargeBinary))  # float32 little-endian


class ExperimentLink(SQLModel, table=True):
    """Which reproduction experiment tests which claim (auto from a match rule, or manual)."""

    __table_args__ = (UniqueConstraint("claim_id", "experiment"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", index=True)
    experiment: str = Field(index=True)
    origin: str = "rule"  # "rule" | "manual"
    active: bool = True  # a manual unlink sets False and wins over the rule
    created_at: datetime = Field(default_factory=utcnow)


RUN_STATUSES = ("RUNNING", "FINISHED", "FAILED", "KILLED")


class Run(SQLModel, table=True):
    """One (experiment, arm, seed) training/evaluation run with its raw numbers."""

    id: Optional[int] = Field(default=None, primary_key=True)
    experiment: str = Field(index=True)
    arm: str
    seed: int
    config_hash: str = Field(index=True)  # hash of everything that determines the result
    status: str = Field(default="RUNNING", index=True)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    manifest: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))
    metrics: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))
    device: Optional[str] = None
    pid: Optional[int] = None
    host: Optional[str] = None
    error: Optional[str] = None
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None
    wall_s: Optional[float] = None
    # reproduce runner (issue 6): liveness, reuse and sanity guards
    heartbeat_at: Optional[datetime] = None  # refreshed while RUNNING; stale + dead pid => KILLED
    reused_from: Optional[int] = None  # FINISHED copy of an identical run (same config_hash) of another experiment
    valid: Optional[bool] = None  # False = collapsed / at chance: never counts as evidence
    invalid_reason: Optional[str] = None


class Verdict(SQLModel, table=True):
    """An experimental verdict on a claim, computed from finished runs (inputs kept in detail)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    claim_id: str = Field(foreign_key="claim.id", index=True)
    experiment: str
    outcome: str  # one of EXPERIMENT_STATUSES
    proxy: bool = True
    metric: Optional[str] = None
    effect: Optional[float] = None
    ci_low: Optional[float] = None
    ci_high: Optional[float] = None
    n_seeds: int = 0
    run_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    detail: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow)


class RuleRegistration(SQLModel, table=True):
    """A pre-registered decision rule of one experiment: the digest of its [decision] block (with the
    judging code's version), stored when the experiment is first judged. A changed rule judges stored
    runs only once it is registered as a new version (`claims reproduce --new-rule`); every verdict
    names the version it was judged under and when that version was registered relative to its runs."""

    __table_args__ = (UniqueConstraint("experiment", "version"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    experiment: str = Field(index=True)
    version: int  # 1, 2, ... per experiment
    digest: str  # verdict.template.rule_digest
    rules_version: int  # the judging code's version (verdict.template.RULES_VERSION)
    decision: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))  # the [decision] block
    registered_at: datetime = Field(default_factory=utcnow)
    note: Optional[str] = None  # why a new version was registered (--new-rule)
