"""What an experiment file declares, as dataclasses: the match rule, task, model, arms, run settings and
the pre-registered decision rule (parsed from reproductions/*.toml by `reproduce.registry`).

`SourceFile` ties a parse error to the file and line where the key was written (the including file
first, then the files it includes), so every error reads `path:line: message`.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

TIERS = ("core", "extended")
DIRECTIONS = {"increase": 1, "decrease": -1}
PROFILES = ("quick", "paper")
TRAIN_KIND = "train"


class RegistryError(ValueError):
    """A reproduction file is malformed; the message names the file (and line where known)."""


# --- text normalisation shared by match rules ----------------------------------------------------

def normalize_text(text: str) -> str:
    """NFKC, lower case, unified dashes/quotes, single spaces. Rules match against this form."""
    t = unicodedata.normalize("NFKC", text or "").lower()
    t = re.sub(r"[\u2010-\u2015\u2212]", "-", t)
    t = re.sub(r"[\u2018\u2019\u201b`]", "'", t)
    t = re.sub(r"[\u201c\u201d\u201e]", '"', t)
    return re.sub(r"\s+", " ", t).strip()


# --- the parts of an experiment --------------------------------------------------------------------

@dataclass
class MatchRule:
    """Which claims an experiment tests. Every given condition must hold.

    all / any / none: regexes (case-insensitive) over the normalized claim text (its repaired text,
    when ingest restored a truncated claim, is searched too). report_cites: the claim's report cites
    at least one of these arXiv ids. report_text: a regex over the report's title, research question
    and abstract. datasets: the claim's parsed datasets include one of these (case-insensitive).
    report_key: a regex over the report key (use sparingly: keys change when a report is renamed).
    """

    all: list[str] = field(default_factory=list)
    any: list[str] = field(default_factory=list)
    none: list[str] = field(default_factory=list)
    report_cites: list[str] = field(default_factory=list)
    report_text: Optional[str] = None
    datasets: list[str] = field(default_factory=list)
    report_key: Optional[str] = None

    def is_empty(self) -> bool:
        return not (self.all or self.any or self.datasets)

    def explain(self, claim_texts: Iterable[str], report: "ReportContext", claim_datasets: Iterable[str] = ()) -> tuple[bool, list[str]]:
        """(matches, reasons): the reasons say which condition failed or what matched."""
        texts = [normalize_text(t) for t in claim_texts if t]
        why: list[str] = []

        def search(pat: str) -> bool:
            rx = re.compile(pat, re.IGNORECASE)
            return any(rx.search(t) for t in texts)

        for pat in self.all:
            if not search(pat):
                return False, [f"claim text lacks /{pat}/"]
            why.append(f"/{pat}/")
        if self.any:
            hit = [p for p in self.any if search(p)]
            if not hit:
                return False, [f"claim text matches none of {self.any}"]
            why.append(f"any /{hit[0]}/")
        for pat in self.none:
            if search(pat):
                return False, [f"claim text matches excluded /{pat}/"]
        if self.datasets:
            have = {normalize_text(d).replace("-", "") for d in claim_datasets}
            want = {normalize_text(d).replace("-", "") for d in self.datasets}
            if not have & want:
                return False, [f"claim datasets {sorted(have) or '[]'} not in {sorted(want)}"]
            why.append(f"dataset {sorted(have & want)[0]}")
        if self.report_cites:
            cited = set(report.cites)
            if not cited & set(self.report_cites):
                return False, [f"report does not cite any of {self.report_cites}"]
            why.append(f"report cites {sorted(cited & set(self.report_cites))[0]}")
        if self.report_text:
            if not re.search(self.report_text, normalize_text(report.text), re.IGNORECASE):
                return False, [f"report title/question/abstract lacks /{self.report_text}/"]
            why.append(f"report /{self.report_text}/")
        if self.report_key and not re.search(self.report_key, report.key or ""):
            return False, [f"report key {report.key!r} does not match /{self.report_key}/"]
        return True, why


@dataclass
class ReportContext:
    key: str = ""
    text: str = ""  # title + research question + abstract
    cites: tuple[str, ...] = ()


@dataclass
class Arm:
    name: str
    method: str = "baseline"
    params: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # train-loop overrides for this arm only


@dataclass
class TaskSpec:
    proxy: str  # offline default task, e.g. "logt-pair", or "file:relative/path.json"
    real: Optional[str] = None  # the claim's own benchmark, loaded when --data is given (e.g. "pawsx")
    options: dict[str, Any] = field(default_factory=dict)  # passed to load_task for both
    # passed to load_task for the real set only, over `options` (key by key): e.g. an XNLI experiment that
    # shares its proxy options (the PAWS-X languages) with the PAWS-X experiments asks XNLI for its own
    real_options: dict[str, Any] = field(default_factory=dict)
    claim_dataset: Optional[str] = None  # the dataset the claim is about, for the proxy label


@dataclass
class ModelSpec:
    default: str = "offline:multilingual-e5-small"
    claim: Optional[str] = None  # the model the claim / paper used; any other model is proxy evidence


@dataclass
class DecisionRule:
    """Pre-registered: which effect on which metric counts as reproduced.

    metric: "<split>:<selector>:<measure>" (split test|test_pairs|dev; selector all|nonen|cross|same|
    <lang>|<l1-l2>; measure accuracy|macro_f1|auc|f1|em) or "summary.<key>". Effects are
    scale * (treatment - baseline) in the claimed direction (points for accuracies in [0, 1]).
    claimed: a number, "claim" (the claim's own number, when it states one) or absent.
    The magnitude bar is magnitude_fraction * claimed when a claimed number exists, else min_effect.
    """

    baseline: str
    treatment: Any  # an arm name, or a list of arm names: the best on `select_metric` (English dev) is judged
    metric: str
    direction: str = "increase"
    scale: float = 100.0
    claimed: Any = None
    magnitude_fraction: float = 0.5
    min_effect: float = 1.0
    expected_effect: Optional[float] = None  # H1's centre for the Bayes factor when no number is claimed
    alpha: float = 0.05
    per_language_measure: str = "accuracy"
    min_seeds: int = 3
    select_metric: str = "dev:en:accuracy"  # picks among several treatment arms (never a test split)

    @property
    def treatments(self) -> list[str]:
        return list(self.treatment) if isinstance(self.treatment, list) else [self.treatment]

    @property
    def sign(self) -> int:
        return DIRECTIONS[self.direction]


@dataclass
class Experiment:
    name: str
    path: Path
    description: str
    match: MatchRule
    task: TaskSpec
    model: ModelSpec
    arms: list[Arm]
    seeds: list[int]
    profile: str
    decision: DecisionRule
    tier: str = "core"
    paper: Optional[str] = None
    notes: str = ""
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # profile -> train-loop overrides
    source_text: str = ""
    kind: str = TRAIN_KIND  # "train" (arms x seeds through the train loop) or a kind registered in reproduce.kinds
    params: dict[str, Any] = field(default_factory=dict)  # kind-specific settings ([params] table)
    raw: dict[str, Any] = field(default_factory=dict)  # the parsed file, for kinds that need more
    # stated differences from the claim's setup ([[differences]]: aspect, weight, paper, ours, why)
    differences: list[dict[str, Any]] = field(default_factory=list)

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(name)

    def decision_digest(self) -> str:
        """sha256 (16 hex digits) of the kind and the file's [decision] table as written: what a run was
        planned under (the verdict's rule digest adds the judging code's version)."""
        raw = json.dumps({"kind": self.kind, "decision": (self.raw or {}).get("decision")}, sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        d.pop("source_text", None)
        d["decision_digest"] = self.decision_digest()
        return d


# --- where a key was written, for error messages ---------------------------------------------------

def line_of(text: str, key: str) -> Optional[int]:
    """Line number of `key =` or `[key]` / `[[key]]` in a TOML source (None if not found)."""
    rx = re.compile(rf"^\s*(\[+\s*{re.escape(key)}\s*\]+|{re.escape(key)}\s*=)", re.MULTILINE)
    m = rx.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


@dataclass
class SourceFile:
    """An experiment file and the files it includes (in that order), for `path:line` errors."""

    path: Path
    text: str
    included: list[tuple[Path, str]] = field(default_factory=list)

    def where(self, key: str) -> str:
        for p, t in [(self.path, self.text), *self.included]:
            line = line_of(t, key)
            if line is not None:
                return f"{p}:{line}"
        return f"{self.path}:1"

    def error(self, key: str, msg: str) -> RegistryError:
        return RegistryError(f"{self.where(key)}: {msg}")

    def str_list(self, v: Any, key: str) -> list[str]:
        if v is None:
            return []
        if isinstance(v, str):
            return [v]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self.error(key, f"'{key}' must be a string or a list of strings")
        return list(v)

    def check_regexes(self, pats: Iterable[str], key: str) -> None:
        for p in pats:
            try:
                re.compile(p)
            except re.error as exc:
                raise self.error(key, f"bad regex {p!r} in '{key}': {exc}") from None
