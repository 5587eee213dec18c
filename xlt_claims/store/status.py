"""The one definition of a claim's status: its stored value, the label people read, the group the report
sorts it into, where it comes from, and what it means. Store, verdicts, report and CLI all use it.

A status comes from the textual evidence over the cited papers (source "text") or from re-measuring the
claim (source "experiment"); "unverified" is where every claim starts. A new status is one member here
(with its label, group and explanation); everything that lists statuses follows.

Groups: "holds" (the claim stands), "partial" (it partly stands), "problem" (it fails: counted in a
report's problem share), "open" (not decided).
"""

from __future__ import annotations

from enum import Enum
from typing import Optional


class StatusGroup(str, Enum):
    HOLDS = "holds"
    PARTIAL = "partial"
    PROBLEM = "problem"
    OPEN = "open"

    @property
    def label(self) -> str:
        return _GROUP_LABELS[self]

    __str__ = str.__str__
    __format__ = str.__format__


_GROUP_LABELS = {StatusGroup.HOLDS: "holds", StatusGroup.PARTIAL: "partly holds", StatusGroup.PROBLEM: "problem",
                 StatusGroup.OPEN: "open"}


class Status(str, Enum):
    """A claim's status. Members compare equal to their stored string value."""

    UNVERIFIED = "unverified"
    SUPPORTED = "supported-by-source"
    CONTRADICTED = "contradicted-by-source"
    CONTESTED = "contested"
    NOT_IN_SOURCES = "not-in-cited-sources"
    UNCHECKED = "unchecked"
    REPRODUCED = "reproduced"
    PARTIALLY_REPRODUCED = "partially-reproduced"
    NOT_REPRODUCED = "not-reproduced"
    INCONCLUSIVE = "inconclusive"
    INVALID = "invalid"

    __str__ = str.__str__
    __format__ = str.__format__

    @property
    def label(self) -> str:
        return _INFO[self][0]

    @property
    def group(self) -> StatusGroup:
        return _INFO[self][1]

    @property
    def source(self) -> Optional[str]:
        """"text" (evidence over the cited papers), "experiment" (our runs) or None (unverified)."""
        return _INFO[self][2]

    @property
    def explanation(self) -> str:
        return _INFO[self][3]

    @property
    def problem(self) -> Optional[str]:
        """How the report's problem list names a claim with this status (None: not a problem)."""
        return _INFO[self][4]

    @classmethod
    def from_source(cls, source: str) -> tuple["Status", ...]:
        return tuple(s for s in cls if s.source == source)


_G = StatusGroup
# status -> (label, group, source, explanation, problem name)
_INFO: dict[Status, tuple[str, StatusGroup, Optional[str], str, Optional[str]]] = {
    Status.UNVERIFIED: ("Unverified", _G.OPEN, None, "not checked against sources or experiments yet", None),
    Status.SUPPORTED: ("Supported by source", _G.HOLDS, "text",
                       "a cited paper's sentence states it (numbers, data sets and names agree)", None),
    Status.CONTRADICTED: ("Contradicted by source", _G.PROBLEM, "text", "a cited paper's sentence disagrees with it",
                          "contradicted"),
    Status.CONTESTED: ("Contested by sources", _G.OPEN, "text",
                       "comparably strong cited sentences support and contradict it: read both", None),
    Status.NOT_IN_SOURCES: ("Not in cited sources", _G.PROBLEM, "text", "no cited paper text we have states it",
                            "unsupported"),
    Status.UNCHECKED: ("Unchecked", _G.OPEN, "text",
                       "a cited paper it would be checked against could not be read (not a problem)", None),
    Status.REPRODUCED: ("Reproduced", _G.HOLDS, "experiment",
                        "our runs measured the claimed effect (pre-registered rule)", None),
    Status.PARTIALLY_REPRODUCED: ("Partially reproduced", _G.PARTIAL, "experiment",
                                  "our runs show the claimed direction, not the claimed magnitude", None),
    Status.NOT_REPRODUCED: ("Not reproduced", _G.PROBLEM, "experiment", "our runs did not show the claimed effect",
                            "not reproduced"),
    Status.INCONCLUSIVE: ("Inconclusive", _G.OPEN, "experiment", "our runs cannot decide it with the seeds run so far",
                          None),
    Status.INVALID: ("Invalid", _G.OPEN, "experiment",
                     "no valid comparison: an arm collapsed or did not learn, both arms stayed at chance, or a data "
                     "guard refused; the runs do not count as evidence", None),
}

TEXT_STATUSES: tuple[str, ...] = tuple(s.value for s in Status.from_source("text"))
EXPERIMENT_STATUSES: tuple[str, ...] = tuple(s.value for s in Status.from_source("experiment"))
STATUSES: tuple[str, ...] = tuple(s.value for s in Status)
UNVERIFIED: str = Status.UNVERIFIED.value
