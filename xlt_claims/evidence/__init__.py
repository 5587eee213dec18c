"""Evidence: split cited papers into sentences, embed claims and sentences (cached), judge stance with
number/entity/polarity/antonym/scope rules (optionally an NLI cross-encoder as the "states it" test,
the rules staying as guards), decide textual verdicts (the strongest evidence decides), store top
evidence per claim, truncated-claim repairs and report-level flags.

Library API: compute_evidence(store, claim_ids=None, ...) -> EvidenceSummary (see core.py);
evidence_lines / render_evidence (display.py) for reading stored evidence.
"""

from .core import (
    CONTESTED,
    CONTRADICTED,
    NOT_FOUND,
    SUPPORTED,
    UNCHECKED,
    EvidenceSummary,
    compute_evidence,
    paper_sentences,
)

__all__ = ["compute_evidence", "EvidenceSummary", "paper_sentences", "SUPPORTED", "CONTRADICTED", "CONTESTED",
           "NOT_FOUND", "UNCHECKED"]
