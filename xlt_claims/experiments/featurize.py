"""Examples -> token-id features (and back, for answer spans).

Classification: one sequence per example, or with bi-encoded pairs two (the second in
pair_input_ids). Span extraction: SQuAD-style windows over the context; evaluation maps the best
start/end logits back to a substring of the context through the offset mapping.
"""

from __future__ import annotations

from typing import Any, Sequence

from xlt_claims.experiments.types import Example

__all__ = ["featurize_cls", "featurize_span", "span_predictions"]


def featurize_cls(tokenizer, examples: Sequence[Example], prefix: str, max_length: int, bi_pairs: bool = False) -> list[dict]:
    """Token ids per example. Pairs are one sequence (cross) or, with bi_pairs, two: the second text
    goes to pair_input_ids, each with the encoder's prefix and truncated on its own."""
    if not examples:
        return []
    # An example's tokens depend on it alone: single texts and pairs are tokenized apart, so a single
    # text never gets an empty second segment because a pair shares its list (one evaluation pass
    # over test languages and generalized pairs mixes them).
    paired = [i for i, e in enumerate(examples) if e.text_pair is not None]
    single = [i for i, e in enumerate(examples) if e.text_pair is None]
    feats: list = [None] * len(examples)
    for group, has_pair in ((single, False), (paired, True)):
        if not group:
            continue
        texts = [prefix + examples[i].text for i in group]
        pairs = [examples[i].text_pair for i in group] if has_pair else None
        second = None
        if bi_pairs and pairs is not None:
            second = tokenizer([prefix + t for t in pairs], truncation=True, max_length=max_length)["input_ids"]
            pairs = None
        enc = tokenizer(texts, pairs, truncation=True, max_length=max_length)
        keys = [k for k in ("input_ids", "attention_mask") if k in enc]
        if second is None and "token_type_ids" in enc:
            keys.append("token_type_ids")
        for j, i in enumerate(group):
            f = {k: enc[k][j] for k in keys}
            if second is not None:
                f["pair_input_ids"] = second[j]
            f["label"] = -100 if examples[i].label is None else int(examples[i].label)
            f["example_index"] = i
            feats[i] = f
    return feats


def _answer_positions(offsets, c0: int, c1: int, a_start: int, a_end: int) -> tuple[int, int]:
    """First and last token of the answer inside the window's context tokens c0..c1, or (0, 0) (the
    first token) when the answer is not entirely inside the window."""
    if offsets[c0][0] > a_start or offsets[c1][1] < a_end:
        return 0, 0
    s = c0
    while s <= c1 and offsets[s][0] <= a_start:
        s += 1
    e = c1
    while e >= c0 and offsets[e][1] >= a_end:
        e -= 1
    return s - 1, e + 1


def featurize_span(tokenizer, examples: Sequence[Example], prefix: str, max_length: int, stride: int, train: bool) -> list[dict]:
    """SQuAD-style windows over the context (text_pair), question (text) first. Train features carry
    start/end token positions (0 = the first token when the answer is not inside the window); eval
    features carry the context offset mapping for answer extraction."""
    if not examples:
        return []
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("span extraction needs a fast tokenizer (offset mappings)")
    questions = [prefix + e.text.lstrip() for e in examples]
    contexts = [e.text_pair or "" for e in examples]
    enc = tokenizer(questions, contexts, truncation="only_second", max_length=max_length, stride=stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
    feats = []
    for i in range(len(enc["input_ids"])):
        ex_i = enc["overflow_to_sample_mapping"][i]
        seq_ids = enc.sequence_ids(i)
        offsets = enc["offset_mapping"][i]
        f = {k: enc[k][i] for k in keys}
        f["example_index"] = ex_i
        ctx_tokens = [j for j, s in enumerate(seq_ids) if s == 1]
        if not ctx_tokens:
            continue
        if train:
            ans = examples[ex_i].answers or {}
            if not ans.get("text"):
                continue
            a_start = int(ans["answer_start"][0])
            f["start_positions"], f["end_positions"] = _answer_positions(
                offsets, ctx_tokens[0], ctx_tokens[-1], a_start, a_start + len(ans["text"][0]))
        else:
            f["offset_mapping"] = [tuple(o) if seq_ids[j] == 1 else None for j, o in enumerate(offsets)]
        feats.append(f)
    return feats


def span_predictions(examples: Sequence[Example], feats: list[dict], logits: list[Any], n_best: int, max_answer_len: int) -> list[str]:
    """Best valid (start <= end, both inside the context, length <= max_answer_len tokens) span over all
    windows of each example, scored by start + end logit; '' when no window has a valid span."""
    best: list[tuple[float, str]] = [(-1e30, "")] * len(examples)
    for f, lg in zip(feats, logits):
        ex = examples[f["example_index"]]
        ctx = ex.text_pair or ""
        offs = f["offset_mapping"]
        s_log, e_log = lg[:, 0], lg[:, 1]
        k = min(n_best, s_log.numel())
        s_idx = s_log.topk(k).indices.tolist()
        e_idx = e_log.topk(k).indices.tolist()
        for s in s_idx:
            if s >= len(offs) or offs[s] is None:
                continue
            for e in e_idx:
                if e >= len(offs) or offs[e] is None or e < s or e - s + 1 > max_answer_len:
                    continue
                sc = float(s_log[s] + e_log[e])
                if sc > best[f["example_index"]][0]:
                    best[f["example_index"]] = (sc, ctx[offs[s][0] : offs[e][1]])
    return [b[1] for b in best]
