"""From the judged sentences of one claim to its textual verdict: the strongest evidence decides.

Verdicts (the names, labels and report groups live in store/status.py):

* `supported-by-source`: the strongest stance-bearing sentence supports the claim and no contradicting
  sentence is comparably strong.
* `contradicted-by-source`: the strongest stance-bearing sentence contradicts the claim and no
  supporting sentence is comparably strong.
* `contested`: a supporting and a contradicting sentence are comparably strong: their similarities to
  the claim differ by at most `contest_margin` (a quarter of the model's calibrated gap between the
  `support` and `related` thresholds). Both are kept and shown; a reader has to look.
* `not-in-cited-sources`: every cited paper could be read and no sentence supports or contradicts it.
* `unchecked`: no sentence supports or contradicts it and at least one cited paper could not be read
  (or the report cites none): the claim may be in the paper we do not have, so it is not counted as a
  problem.

Strength is the similarity of the sentence alone to the claim (never the context-widened one), so a
sentence cannot win through its neighbour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ..store.status import Status

SUPPORTED, CONTRADICTED, CONTESTED, NOT_FOUND, UNCHECKED = (
    Status.SUPPORTED.value, Status.CONTRADICTED.value, Status.CONTESTED.value, Status.NOT_IN_SOURCES.value,
    Status.UNCHECKED.value)
CONTEST_FRACTION = 0.25


@dataclass
class Judgement:
    """One candidate sentence judged against one claim."""

    sentence: Any  # core.Sent
    sim: float  # similarity of the sentence alone (strength)
    rank_sim: float  # similarity used to rank candidates (with the previous sentence, when higher)
    stance: Any  # stance.Stance

    @property
    def label(self) -> str:
        return self.stance.stance


@dataclass
class Decision:
    verdict: str
    reason: str
    decider: Optional[Judgement]
    opposing: Optional[Judgement] = None  # for contested: the strongest sentence on the other side


def contest_margin(thresholds) -> float:
    return CONTEST_FRACTION * max(0.0, thresholds.support - thresholds.related)


def _where(j: Judgement) -> str:
    st = j.sentence
    return f"{st.arxiv_id} ({st.source}, sentence {st.index + 1})"


def decide(judged: list[Judgement], unavailable: list[str], thresholds, *, cited: int) -> Decision:
    """The claim's verdict from its judged sentences; `unavailable`: cited papers that could not be read."""
    supports = sorted((j for j in judged if j.label == "support"), key=lambda j: -j.sim)
    contras = sorted((j for j in judged if j.label == "contradict"), key=lambda j: -j.sim)
    margin = contest_margin(thresholds)
    if supports and contras:
        s, c = supports[0], contras[0]
        if abs(s.sim - c.sim) <= margin:
            return Decision(CONTESTED, f"comparably strong sentences disagree: {_where(s)} supports it "
                            f"(similarity {s.sim:.2f}: {s.stance.reasons['rule']}), {_where(c)} contradicts it "
                            f"(similarity {c.sim:.2f}: {c.stance.reasons['rule']})", s, c)
        if c.sim > s.sim:
            return Decision(CONTRADICTED, f"{_where(c)} says otherwise: {c.stance.reasons['rule']} (a weaker "
                            f"sentence, similarity {s.sim:.2f}, supports it)", c, s)
        return Decision(SUPPORTED, f"stated in {_where(s)}: {s.stance.reasons['rule']} (a weaker sentence, "
                        f"similarity {c.sim:.2f}, contradicts it: {c.stance.reasons['rule']})", s, c)
    if supports:
        s = supports[0]
        return Decision(SUPPORTED, f"stated in {_where(s)}: {s.stance.reasons['rule']}", s)
    if contras:
        c = contras[0]
        return Decision(CONTRADICTED, f"{_where(c)} says otherwise: {c.stance.reasons['rule']}", c)
    closest = max(judged, key=lambda j: j.sim) if judged else None
    tail = (f"; closest ({_where(closest)}, similarity {closest.sim:.2f}): {closest.stance.reasons['rule']}"
            if closest else "")
    if not cited:
        return Decision(UNCHECKED, "the report cites no paper to check it against", None)
    if unavailable:
        readable = cited - len(unavailable)
        return Decision(UNCHECKED, f"not stated in the {readable} readable cited paper(s); "
                        f"{len(unavailable)} cited paper(s) could not be read ({', '.join(unavailable)})" + tail,
                        closest)
    return Decision(NOT_FOUND, "no sentence of the cited papers states this claim or its opposite" + tail, closest)
