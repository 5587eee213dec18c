"""Evidence: split cited papers into sentences, embed claims and sentences (cached), judge stance with
number/entity/polarity rules (optionally an NLI cross-encoder), store top evidence per claim, textual
verdicts, truncated-claim repairs and report-level flags.

Library API: compute_evidence(store, claim_ids=None, ...) -> EvidenceSummary (see core.py).
"""

from .core import CONTRADICTED, NOT_FOUND, SUPPORTED, EvidenceSummary, compute_evidence, paper_sentences

__all__ = ["compute_evidence", "EvidenceSummary", "paper_sentences", "SUPPORTED", "CONTRADICTED", "NOT_FOUND"]
