"""The reproduction registry: one declarative TOML file per experiment in `reproductions/`.

An experiment file names the claims it tests (a match rule that survives re-ingest), the task and
data, the model, the arms (a baseline and a method with its parameters), the seeds and profile, and
a pre-registered decision rule. Adding an experiment = adding one file (plus, for a new method, one
module under `xlt_claims/experiments/methods/` that registers itself). The format is documented in
`reproductions/README.md`; `load_registry()` validates every file and names file and line on error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

from ..paths import PACKAGE_DIR

ENV_VAR = "XLT_CLAIMS_REPRODUCTIONS"
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
    n_boot: int = 10000
    per_language_measure: str = "accuracy"
    min_seeds: int = 3
    select_metric: str = "dev:en:accuracy"  # picks among several treatment arms (never a test split)

    @property
    def treatments(self) -> list[str]:
        return list(self.treatment) if isinstance(self.treatment, list) else [self.treatment]

    @property
    def sign(self) -> int:
        return DIRECTIONS[self.direction]

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, default=str).encode()).hexdigest()[:16]


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

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        d.pop("source_text", None)
        d["decision_digest"] = self.decision.digest()
        return d


# --- parsing ---------------------------------------------------------------------------------------

_TOP_KEYS = {"name", "description", "paper", "tier", "notes", "match", "task", "model", "arms", "run", "decision",
             "kind", "params"}


def _line_of(text: str, key: str) -> int:
    """Best-effort line number of `key =` or `[key]` in a TOML source (1 if not found)."""
    rx = re.compile(rf"^\s*(\[+\s*{re.escape(key)}\s*\]+|{re.escape(key)}\s*=)", re.MULTILINE)
    m = rx.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else 1


def _err(path: Path, text: str, key: str, msg: str) -> RegistryError:
    return RegistryError(f"{path}:{_line_of(text, key)}: {msg}")


def _str_list(v: Any, path: Path, text: str, key: str) -> list[str]:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _err(path, text, key, f"'{key}' must be a string or a list of strings")
    return list(v)


def _check_regexes(pats: Iterable[str], path: Path, text: str, key: str) -> None:
    for p in pats:
        try:
            re.compile(p)
        except re.error as exc:
            raise _err(path, text, key, f"bad regex {p!r} in '{key}': {exc}") from None


def parse_experiment(path: Path) -> Experiment:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 text ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: invalid TOML: {exc}") from None

    unknown = set(data) - _TOP_KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise _err(path, text, k, f"unknown key '{k}' (allowed: {', '.join(sorted(_TOP_KEYS))})")
    kind = data.get("kind", TRAIN_KIND)
    if not isinstance(kind, str):
        raise _err(path, text, "kind", "'kind' must be a string")
    required = ("name", "description", "match", "task", "arms", "decision") if kind == TRAIN_KIND \
        else ("name", "description", "match", "task", "decision")
    for req in required:
        if req not in data:
            raise RegistryError(f"{path}:1: missing required key '{req}'")
    name = data["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        raise _err(path, text, "name", f"name {name!r} must be lower-case letters, digits, '.', '_' or '-'")

    m = data["match"]
    if not isinstance(m, dict):
        raise _err(path, text, "match", "[match] must be a table")
    bad = set(m) - {"all", "any", "none", "report_cites", "report_text", "datasets", "report_key"}
    if bad:
        raise _err(path, text, sorted(bad)[0], f"unknown match key '{sorted(bad)[0]}'")
    match = MatchRule(
        all=_str_list(m.get("all"), path, text, "all"),
        any=_str_list(m.get("any"), path, text, "any"),
        none=_str_list(m.get("none"), path, text, "none"),
        report_cites=[re.sub(r"v\d+$", "", c) for c in _str_list(m.get("report_cites"), path, text, "report_cites")],
        report_text=m.get("report_text"),
        datasets=_str_list(m.get("datasets"), path, text, "datasets"),
        report_key=m.get("report_key"),
    )
    _check_regexes([*match.all, *match.any, *match.none], path, text, "match")
    _check_regexes([p for p in (match.report_text, match.report_key) if p], path, text, "match")
    if match.is_empty():
        raise _err(path, text, "match", "[match] needs at least one of 'all', 'any' or 'datasets' so it cannot match every claim")

    t = data["task"]
    if not isinstance(t, dict) or "proxy" not in t:
        raise _err(path, text, "task", "[task] needs 'proxy' (the offline default task, e.g. \"logt-pair\")")
    task = TaskSpec(proxy=t["proxy"], real=t.get("real"), options=dict(t.get("options", {})),
                    claim_dataset=t.get("claim_dataset"))

    md = data.get("model", {})
    model = ModelSpec(default=md.get("default", ModelSpec.default), claim=md.get("claim"))

    if kind != TRAIN_KIND:
        return _parse_other_kind(path, text, data, name, match, task, model, kind)

    arms_raw = data["arms"]
    if not isinstance(arms_raw, list) or len(arms_raw) < 2:
        raise _err(path, text, "arms", "need at least two [[arms]] (a baseline and a method)")
    arms: list[Arm] = []
    for a in arms_raw:
        if "name" not in a:
            raise _err(path, text, "arms", "every [[arms]] entry needs a 'name'")
        extra = set(a) - {"name", "method", "params", "overrides"}
        if extra:
            raise _err(path, text, sorted(extra)[0], f"unknown arm key '{sorted(extra)[0]}'")
        arms.append(Arm(name=a["name"], method=a.get("method", "baseline"), params=dict(a.get("params", {})),
                        overrides=dict(a.get("overrides", {}))))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise _err(path, text, "arms", f"duplicate arm names in {names}")

    run = data.get("run", {})
    seeds = run.get("seeds", [1, 2, 3])
    if isinstance(seeds, int):
        seeds = list(range(1, seeds + 1))
    if not seeds or not all(isinstance(s, int) for s in seeds):
        raise _err(path, text, "seeds", "'seeds' must be a positive count or a list of integers")
    profile = run.get("profile", "quick")
    if profile not in PROFILES:
        raise _err(path, text, "profile", f"profile {profile!r} not in {PROFILES}")
    overrides = run.get("overrides", {})
    if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
        raise _err(path, text, "overrides", "[run.overrides] must map a profile name to a table of overrides")

    d = data["decision"]
    missing = {"baseline", "treatment", "metric"} - set(d)
    if missing:
        raise _err(path, text, "decision", f"[decision] lacks {sorted(missing)}")
    allowed = set(DecisionRule.__dataclass_fields__)
    extra = set(d) - allowed
    if extra:
        raise _err(path, text, sorted(extra)[0], f"unknown decision key '{sorted(extra)[0]}'")
    decision = DecisionRule(**d)
    if decision.baseline not in names:
        raise _err(path, text, "baseline", f"decision.baseline {decision.baseline!r} is not an arm ({names})")
    if not decision.treatments or not all(isinstance(t, str) and t in names and t != decision.baseline
                                          for t in decision.treatments):
        raise _err(path, text, "treatment", f"decision.treatment {decision.treatment!r} is not an arm ({names}) "
                                            "other than the baseline")
    if len(decision.treatments) > 1:
        try:
            sp = parse_metric(decision.select_metric)
        except ValueError as exc:
            raise _err(path, text, "select_metric", str(exc)) from None
        if sp[0] != "dev":
            raise _err(path, text, "select_metric", "select_metric must use the dev split (choosing on test is biased)")
    if decision.direction not in DIRECTIONS:
        raise _err(path, text, "direction", f"direction must be one of {list(DIRECTIONS)}")
    if not (isinstance(decision.min_effect, (int, float)) and decision.min_effect > 0):
        raise _err(path, text, "min_effect", "min_effect must be > 0 (a zero bar would let identical arms pass)")
    if not (0 < decision.magnitude_fraction <= 1):
        raise _err(path, text, "magnitude_fraction", "magnitude_fraction must be in (0, 1]")
    if decision.claimed is not None and decision.claimed != "claim" and not isinstance(decision.claimed, (int, float)):
        raise _err(path, text, "claimed", "claimed must be a number or \"claim\"")
    if not (0 < decision.alpha < 0.5):
        raise _err(path, text, "alpha", "alpha must be in (0, 0.5)")
    if decision.min_seeds < 2:
        raise _err(path, text, "min_seeds", "min_seeds must be >= 2 (a paired comparison needs a variance)")
    try:
        parse_metric(decision.metric)
    except ValueError as exc:
        raise _err(path, text, "metric", str(exc)) from None

    tier = data.get("tier", "core")
    if tier not in TIERS:
        raise _err(path, text, "tier", f"tier must be one of {TIERS}")
    return Experiment(
        name=name, path=path.resolve(), description=" ".join(str(data["description"]).split()), match=match,
        task=task, model=model, arms=arms, seeds=list(seeds), profile=profile, decision=decision, tier=tier,
        paper=data.get("paper"), notes=str(data.get("notes", "")).strip(), overrides=overrides, source_text=text,
        params=dict(data.get("params", {})), raw=data,
    )


def _parse_other_kind(path: Path, text: str, data: dict, name: str, match: MatchRule, task: TaskSpec,
                      model: ModelSpec, kind: str) -> Experiment:
    """An experiment of a registered non-training kind (e.g. a probe without training): the kind
    validates its own [params] and [decision]; the common parts are parsed here."""
    from .kinds import get_kind

    try:
        handler = get_kind(kind)
    except KeyError as exc:
        raise _err(path, text, "kind", str(exc.args[0])) from None
    run = data.get("run", {})
    seeds = run.get("seeds", [1])
    seeds = list(range(1, seeds + 1)) if isinstance(seeds, int) else list(seeds)
    tier = data.get("tier", "core")
    if tier not in TIERS:
        raise _err(path, text, "tier", f"tier must be one of {TIERS}")
    d = dict(data["decision"])
    decision = DecisionRule(baseline=str(d.get("baseline", "-")), treatment=str(d.get("treatment", "-")),
                            metric=str(d.get("metric", "summary.value")),
                            **{k: v for k, v in d.items() if k in DecisionRule.__dataclass_fields__
                               and k not in ("baseline", "treatment", "metric")})
    exp = Experiment(
        name=name, path=path.resolve(), description=" ".join(str(data["description"]).split()), match=match,
        task=task, model=model, arms=[], seeds=seeds, profile=run.get("profile", "quick"), decision=decision,
        tier=tier, paper=data.get("paper"), notes=str(data.get("notes", "")).strip(), source_text=text, kind=kind,
        params=dict(data.get("params", {})), raw=data,
    )
    try:
        handler.validate(exp)
    except ValueError as exc:
        raise _err(path, text, "params", f"kind {kind!r}: {exc}") from None
    return exp


# --- metrics ---------------------------------------------------------------------------------------

_SPLITS = ("test", "test_pairs", "dev")


def parse_metric(spec: str) -> tuple[str, str, str]:
    """("summary", key, "") or (split, selector, measure)."""
    if spec.startswith("summary."):
        return ("summary", spec[len("summary."):], "")
    parts = spec.split(":")
    if len(parts) != 3 or parts[0] not in _SPLITS or not parts[1] or not parts[2]:
        raise ValueError(f"metric {spec!r} must be 'summary.<key>' or '<test|test_pairs|dev>:<selector>:<measure>'")
    return parts[0], parts[1], parts[2]


def select_keys(split: str, selector: str, keys: Iterable[str]) -> list[str]:
    keys = sorted(keys)
    if selector == "all":
        return keys
    if selector == "nonen":
        return [k for k in keys if k != "en" and not k.startswith("en-") and not k.endswith("-en")] if split == "test_pairs" \
            else [k for k in keys if k != "en"]
    if selector in ("cross", "same"):
        out = []
        for k in keys:
            if "-" not in k:
                continue
            a, b = k.split("-", 1)
            if (a != b) == (selector == "cross"):
                out.append(k)
        return out
    return [k for k in keys if k == selector]


def metric_value(metrics: dict[str, Any], spec: str) -> Optional[float]:
    """The value of a metric spec in one run's metrics (macro average over selected languages/pairs)."""
    split, sel, measure = parse_metric(spec)
    if split == "summary":
        v = (metrics.get("summary") or {}).get(sel)
        return float(v) if isinstance(v, (int, float)) else None
    table = metrics.get(split) or {}
    keys = select_keys(split, sel, table)
    vals = [table[k][measure] for k in keys if isinstance(table.get(k), dict) and isinstance(table[k].get(measure), (int, float))]
    return float(sum(vals) / len(vals)) if vals else None


def metric_items(metrics: dict[str, Any], spec: str) -> int:
    """How many test items stand behind a metric value (for the one-item resolution floor)."""
    split, sel, _ = parse_metric(spec)
    if split == "summary":
        return int(sum((v or {}).get("n", 0) for v in (metrics.get("test_pairs") or metrics.get("test") or {}).values()))
    table = metrics.get(split) or {}
    return int(sum(table[k].get("n", 0) for k in select_keys(split, sel, table) if isinstance(table.get(k), dict)))


# --- the registry ----------------------------------------------------------------------------------

def default_dirs() -> list[Path]:
    env = os.environ.get(ENV_VAR)
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [PACKAGE_DIR.parent / "reproductions"]


@dataclass
class Registry:
    experiments: dict[str, Experiment]
    dirs: list[Path]

    def get(self, name: str) -> Experiment:
        try:
            return self.experiments[name]
        except KeyError:
            known = ", ".join(sorted(self.experiments)) or "none"
            raise RegistryError(f"unknown experiment {name!r} (known: {known}; registry dirs: "
                                f"{', '.join(map(str, self.dirs))})") from None

    def __iter__(self):
        return iter(sorted(self.experiments.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self.experiments)


def load_registry(dirs: Optional[Iterable[os.PathLike | str]] = None) -> Registry:
    """Parse every `*.toml` in the registry folders (non-recursive; files starting with '_' are skipped)."""
    ds = [Path(d) for d in dirs] if dirs else default_dirs()
    exps: dict[str, Experiment] = {}
    for d in ds:
        if not d.exists():
            continue
        if d.is_file():
            files = [d]
        else:
            files = sorted(p for p in d.glob("*.toml") if not p.name.startswith("_"))
        for f in files:
            e = parse_experiment(f)
            if e.name in exps:
                raise RegistryError(f"{f}:1: experiment name {e.name!r} already defined in {exps[e.name].path}")
            exps[e.name] = e
    return Registry(exps, ds)
